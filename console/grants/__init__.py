"""Per-container grants: a team admin lets one user do chosen actions on one container ("may
start, stop and open a terminal on web-1, and nothing else"), beyond or without a team role;
and per-stack grants of a stack's verbs (view, start, stop, restart, deploy) on one stack.

The model and who sees it (`models`), making and revoking one (`actions`: checked, audited,
and the grantee's open sockets told to re-check), `/api/grants/` and
`/api/stacks/{id}/grants/` (`api`), and the container's and stack's pages' *Access* sections
(`views`, `forms`)."""
