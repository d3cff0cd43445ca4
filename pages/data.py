"""Data: what was read, what was rejected, events per day, and the event vocabulary with a mapping fix."""

from __future__ import annotations

import streamlit as st

from mlwatch.config import Config
from mlwatch.governance.mapping import map_events
from mlwatch.months import month_name
from mlwatch.present.charts import daily_events_figure
from mlwatch.present.report import labels_of, rejected_tables, vocabulary_table
from mlwatch.present.timeline_charts import changed_groups, daily_by_name, name_totals, timeline_chart
from mlwatch.summary import RunSummary
from pages import _shared
from pages._contract import contract_download

UNMAPPED = "(leave unmapped)"


def _ingest(run: RunSummary) -> None:
    ingest = run.ingest
    st.subheader("Rows read")
    st.caption(f"Every file read for this run: {_span(run)}. Rejected rows are listed below, never dropped silently.")
    read, rejected, duplicates = st.columns(3)
    read.metric("Rows read, all files", _shared.number(ingest.rows_read), help="every row of every file, all months")
    rejected.metric(
        "Rejected rows, all files",
        _shared.number(ingest.rows_rejected),
        help=f"{_shared.pct(ingest.rows_rejected / max(1, ingest.rows_read), 3)} of the rows read",
    )
    months = ", ".join(f"{month_name(m)}: {n:,}" for m, n in ingest.duplicates_by_month.items())
    duplicates.metric("Events sent twice, all files", _shared.number(ingest.duplicates), help=f"counted once; {months}")
    by_reason, by_file, sample = rejected_tables(run)
    for change in ingest.field_changes:
        st.warning(change.message, icon=":material/edit_note:")
    if ingest.rows_rejected:
        left, right = st.columns([1, 2])
        left.dataframe(by_reason, hide_index=True, width="stretch")
        right.dataframe(
            by_file[by_file["rejected"] > 0],
            hide_index=True,
            width="stretch",
            column_config={"rejected (%)": st.column_config.NumberColumn(format="%.2f%%")},
        )
        with st.expander(f"Sample of rejected rows ({len(sample)} shown)", icon=":material/report:"):
            st.dataframe(sample, hide_index=True, width="stretch")
    else:
        st.success("No row was rejected.")


def _span(run: RunSummary) -> str:
    months = run.months_in_logs
    return f"{month_name(months[0])} to {month_name(months[-1])}" if months else "no month"


def _volume(run: RunSummary) -> None:
    st.subheader("Events per day")
    ref_label, cur_label = labels_of(run)
    figure = daily_events_figure(run.volume.reference.daily, run.volume.current.daily, (ref_label, cur_label))
    st.plotly_chart(figure, width="stretch", key="daily_events")


def _timeline(run: RunSummary) -> None:
    st.subheader("Event timeline")
    hourly = _shared.timeline(str(_shared.state_path()), run.run_id)
    if hourly is None:
        st.info("This run was stored before mlwatch kept the event timeline; run the checks again to see it.")
        return
    labels = labels_of(run)
    daily = daily_by_name(hourly, run.reference_month, run.current_month, labels)
    if not run.changes:
        st.success(f"No event name stopped, started, went missing for a day or changed its share in {labels[1]}.")
    for group in changed_groups(run.changes):
        title = ", ".join(f"`{name}`" for name in group)
        with st.expander(title, expanded=True, icon=":material/timeline:"):
            for change in (c for c in run.changes if c.event in group):
                st.markdown(f"- {change.message}")
            chart = timeline_chart(daily, group, list(run.changes), labels, run.current_month)
            st.altair_chart(chart, width="stretch", key=f"timeline_{group[0]}")
    names = daily["event"].nunique()
    with st.expander(f"Every event name ({names}), events per month", icon=":material/list:"):
        st.dataframe(
            name_totals(daily, labels),
            hide_index=True,
            width="stretch",
            column_config={"change (%)": st.column_config.NumberColumn(format="%+.1f%%")},
        )


def _vocabulary(run: RunSummary) -> None:
    st.subheader("Event names")
    vocab = run.vocabulary
    mapped = {event for events in _shared.app_config().features.values() for event in events}
    unmapped = [name for name in vocab.new if name not in mapped]
    user = _shared.acting_user()
    if unmapped and user and user.can("map"):
        _mapping_form(run, unmapped)
    elif unmapped:
        st.caption("An approver can map the new event names to a feature here.")
    elif vocab.new:
        names = ", ".join(f"`{name}`" for name in vocab.new)
        st.info(
            f"The new names {names} are mapped in the config since this run was stored: run the checks again "
            "(Overview, Start a new run) to use the mapping.",
            icon=":material/check:",
        )
    else:
        st.caption("No new event name this month.")
    st.dataframe(
        vocabulary_table(run),
        hide_index=True,
        width="stretch",
        column_config={"change (%)": st.column_config.NumberColumn(format="%+.1f%%")},
    )
    contract_download(run)  # the names the features depend on, for the teams that produce the events


def _mapping_form(run: RunSummary, names: list[str]) -> None:
    features = list(_shared.app_config().features)
    st.markdown("**Map the new event names to a feature**, save the config and run the checks again:")
    choices = {}
    with st.form("mapping"):
        for name in names:
            suggested = run.vocabulary.suggestions.get(name)
            options = [UNMAPPED, *features]
            index = options.index(suggested) if suggested in options else 0
            choices[name] = st.selectbox(
                f"`{name}` ({run.vocabulary.current_counts[name]:,} events)",
                options,
                index=index,
                key=f"map_{name}",
                help=_evidence(run, name),
            )
        submitted = st.form_submit_button("Save mapping and re-run", type="primary", key="save_mapping")
    if submitted:
        _apply_mapping(run, choices)


def _evidence(run: RunSummary, name: str) -> str | None:
    """Why a feature is suggested for a new name: the evidence that it replaces an old one, if any."""
    started = next((c for c in run.changes if c.event == name and c.kind == "started" and c.replaces), None)
    return started.message if started else None


def _apply_mapping(run: RunSummary, choices: dict[str, str]) -> None:
    additions = {event: feature for event, feature in choices.items() if feature != UNMAPPED}

    def save() -> Config:
        return map_events(_shared.state_path(), _shared.config_path(), additions, _shared.acting_user())

    label = "Saving the mapping and running the checks again…"
    _shared.start_run(
        run.logs,
        run.reference_month,
        run.current_month,
        _shared.app_config(),
        label,
        before=save,
        as_of=run.as_of,
        origin="data",
    )


def render() -> None:
    run = _shared.page_run("Data")
    if run is None:
        return
    _shared.new_run_notice(run, here="data")
    # What changed and the fix first; then what was read. When tracked names vanished, the fix comes first.
    if any(c.name == "vocabulary" for c in run.failed):
        _vocabulary(run)
        _timeline(run)
    else:
        _timeline(run)
        _vocabulary(run)
    _ingest(run)
    _volume(run)


_shared.guard_page()
render()
