"""Dash dashboard for bureaus, banks, guarantors and arrangers, mounted at /dashboard/."""
