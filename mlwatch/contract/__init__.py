"""The data contract of the event log: what the model consumes, written for the teams that produce the events.

``terms`` declares what a contract promises (fields, event names each feature depends on, the
consuming model) and reads an exported contract back; ``version`` numbers the promises (semver)
and records each change in the audit trail; ``build`` measures a month and writes the ODCS v3
YAML; ``check`` checks a producer's sample of new events against it in seconds.
"""
