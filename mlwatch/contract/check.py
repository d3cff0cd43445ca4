"""Check a sample of a producer's new events against an exported contract, in seconds, before they ship.

``rows`` reads the sample with a run's DuckDB readers and finds the breaks among its rows; this
module judges the event names each feature depends on: gone while look-alike names appear, gone,
or far outside their usual share. Each break is one plain line naming the event, the feature, the
model and whom to tell; nothing is trained or stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlwatch.contract.document import EventContract, Expectation, parse_contract
from mlwatch.contract.profile import MIN_EXPECTED, SHARE_MARGIN
from mlwatch.contract.rows import Finding, percent, quoted, read_sample
from mlwatch.errors import InputError
from mlwatch.monthly.vocabulary import looks_like


@dataclass(frozen=True)
class SampleCheck:
    """The result of checking a sample: its size, the breaks (exit 1 when any) and the notes."""

    version: str
    model: str
    rows: int
    events: dict[str, int]  # per event name, most frequent first
    breaks: tuple[Finding, ...]
    notes: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        """True when the sample breaks nothing the model depends on."""
        return not self.breaks


def read_contract(path: str | Path) -> EventContract:
    """Read an exported contract file.

    Raises:
        InputError: the file is missing or unreadable, or not a contract written by ``contract export``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(
            f"{path}: contract file not found; export it with `python -m mlwatch contract export --out {path}`",
            path=str(path),
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: cannot read the contract ({exc}); pass the exported YAML file", path=str(path)
        ) from exc
    return parse_contract(text, str(path))


def check_sample(contract: EventContract, sample: str | Path) -> SampleCheck:
    """Check the events at ``sample`` (a file, folder or glob in any format mlwatch reads) against ``contract``.

    Raises:
        InputError: nothing readable at ``sample``, or no row in it.
    """
    read = read_sample(contract, sample)
    event_breaks, notes = _event_findings(contract, read.counts)
    return SampleCheck(
        contract.version, contract.model, read.rows, read.counts, read.breaks + tuple(event_breaks), tuple(notes)
    )


def _event_findings(contract: EventContract, counts: dict[str, int]) -> tuple[list[Finding], list[Finding]]:
    total = sum(counts.values())
    if not total:
        return [], []  # no event name at all: the field's break says why
    depended = {e.dependency.event for e in contract.expectations}
    breaks: list[Finding] = []
    notes: list[Finding] = []
    named: set[str] = set()
    for expectation in contract.expectations:
        found, note = _expectation_finding(contract, expectation, counts, total, depended)
        if found:
            breaks.append(found)
            named.update(found.instead)
        if note:
            notes.append(note)
    if contract.known:
        for name, count in counts.items():
            if name in contract.known or name in depended or name in named:
                continue
            notes.append(_new_name_note(contract, name, count / total))
    return breaks, notes


def _expectation_finding(
    contract: EventContract, expectation: Expectation, counts: dict[str, int], total: int, depended: set[str]
) -> tuple[Finding | None, Finding | None]:
    feature, event = expectation.dependency.feature, expectation.dependency.event
    seen = counts.get(event, 0)
    share = seen / total
    expected = expectation.share * total if expectation.share is not None else None
    judged = expected is not None and expected >= MIN_EXPECTED
    low, high = expectation.low, expectation.high
    fallen = not seen or (judged and low is not None and share < low)
    tell = f"tell {contract.tell} before shipping"
    alike = [name for name in counts if _replacement(contract, name, counts[name] / total, event, depended)]
    alike = alike if fallen else []
    if alike:
        left = f" (and only {seen:,} `{event}`)" if seen else ""
        message = (
            f"feature {feature} depends on `{event}`; this sample has {quoted(alike)} instead{left}: {tell}"
            f" ({contract.model} counts `{event}` per user; without it that count is 0 for every user)"
        )
        return Finding("event", event, message, tuple(alike)), None
    if not seen and judged:
        message = (
            f"feature {feature} depends on `{event}`; this sample has none (usually {percent(expectation.share or 0)}"
            f" of events, about {expected:,.0f} expected here): {tell}"
        )
        return Finding("event", event, message), None
    if not seen:
        reason = (
            f"is too small to judge it (about {expected:.0f} expected)"
            if expected is not None
            else "the contract has no usual share to judge whether it should (export it with --logs and --month)"
        )
        return None, Finding("too_small", event, f"this sample has no `{event}` event (feature {feature}); {reason}")
    if not judged or low is None or high is None or low <= share <= high:
        return None, None
    message = (
        f"`{event}` is {percent(share)} of this sample's events, far outside its usual range ({percent(low)} to"
        f" {percent(high)}; {percent(expectation.share or 0)} when the contract was measured): feature {feature} of"
        f" {contract.model} counts it; {tell}"
    )
    return Finding("share", event, message), None


def _replacement(contract: EventContract, name: str, share: float, event: str, depended: set[str]) -> bool:
    """A name that may stand in for ``event``: it looks like it, no feature depends on it, and it is new or
    far above its usual share (a known name at its usual level, such as `page_view` beside `item_view`, is not)."""
    if name in depended or not looks_like(name, event):
        return False
    usual = contract.known.get(name)
    return usual is None or share > usual * SHARE_MARGIN


def _new_name_note(contract: EventContract, name: str, share: float) -> Finding:
    like = [e.dependency for e in contract.expectations if looks_like(name, e.dependency.event)]
    text = f"new event name `{name}` ({percent(share)} of this sample's events) is not in the contract"
    if like:
        d = like[0]
        text += (
            f"; it looks like `{d.event}` (feature {d.feature}): if it replaces some of those events, tell"
            f" {contract.tell} before shipping"
        )
    else:
        text += f"; no feature of {contract.model} depends on it, so nothing breaks"
    return Finding("new_event", name, text)
