"""Who may do what: accounts, sign-off, event mapping, the prospect export, notifications."""
