"""docs/tour.md works as written (issue 15): its bash blocks are run, literally and in order, against
a fresh ``ipfin serve --demo`` on a free port, and the figures the tour promises are checked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import free_port, serving

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "docs" / "tour.md"


def bash_blocks(markdown: str) -> list[str]:
    """The fenced ```bash blocks of a Markdown text, in order."""
    return re.findall(r"^```bash\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("tour")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPFIN_")}
    env.update(IPFIN_DEMO_LOANS="400")
    args = [sys.executable, "-m", "ipfin_app.cli", "serve", "--demo", "--port", str(port),
            "--database-url", f"sqlite:///{tmp / 'demo.db'}"]
    with serving(args, port=port, cwd=tmp, env=env, log=tmp / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def tour_output(demo_server: str) -> str:
    blocks = bash_blocks(TOUR.read_text(encoding="utf-8"))
    assert len(blocks) >= 8, "the tour lost its commands"
    script = "set -euo pipefail\n" + "\n".join(f"echo '## block {i}'\n{b}" for i, b in enumerate(blocks))
    env = {**os.environ, "IPFIN_URL": demo_server,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    r = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"the tour failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return r.stdout


def _block(out: str, i: int) -> str:
    return out.split(f"## block {i}\n", 1)[1].split("## block ", 1)[0]


def test_the_tour_parses_into_runnable_blocks() -> None:
    blocks = bash_blocks(TOUR.read_text(encoding="utf-8"))
    for b in blocks:
        r = subprocess.run(["bash", "-n"], input=b, capture_output=True, text=True)
        assert r.returncode == 0, (b[:200], r.stderr)


def test_the_patent_is_valued_with_a_readable_summary(tour_output: str) -> None:
    cli = _block(tour_output, 1)
    assert "value (CNY)" in cli and "CN201810123456.5" in cli and "{" not in cli  # a table, not JSON
    stored = _block(tour_output, 2).split()
    assert stored[0] == "CN201810123456.5" and float(stored[2]) > 3_000_000


def test_the_loan_is_eligible_approved_registered_and_disbursed(tour_output: str) -> None:
    assert _block(tour_output, 3).splitlines()[-1] == "True []"
    assert _block(tour_output, 4).splitlines()[:5] == ["submitted", "under_review", "approved",
                                                         "pledge_registered", "active"]


def test_missed_payments_make_it_overdue_then_default(tour_output: str) -> None:
    assert _block(tour_output, 5).splitlines() == ["True", "default 3000000.00"]


def test_the_claim_is_split_4_2_2_2_and_every_party_pays_its_own_share(tour_output: str) -> None:
    assert "1,200,000.00 CNY" in _block(tour_output, 6)
    review, split = _block(tour_output, 7).splitlines()
    assert review == "True []"
    assert split == ("[('guarantor', '1200000.00'), ('reguarantor', '600000.00'), ('nfgf', '600000.00'), "
                     "('bank', '600000.00')]")
    paid = _block(tour_output, 8).splitlines()
    assert paid[-1] == "completed [('bank', 'paid', '600000.00')]"
    assert [line.split()[0] for line in paid] == ["partially_paid"] * 3 + ["completed"]


def test_the_disposal_proceeds_are_shared_back_and_booked(tour_output: str) -> None:
    status, recovery = _block(tour_output, 9).splitlines()
    assert status == "in_disposal"
    assert recovery == "190000000 {'guarantor': 76000000, 'reguarantor': 38000000, 'nfgf': 38000000, 'bank': 38000000}"
    ledger = _block(tour_output, 10).strip()
    assert ledger == ("[('bank', 60000000, 38000000), ('guarantor', 120000000, 76000000), "
                      "('nfgf', 60000000, 38000000), ('reguarantor', 60000000, 38000000)]")
