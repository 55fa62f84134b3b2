"""ipfin web API: FastAPI + SQLModel, a thin layer over the domain packages."""
