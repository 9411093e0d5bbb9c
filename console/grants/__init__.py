"""Per-container grants: a team admin lets one user do chosen actions on one container ("may
start, stop and open a terminal on web-1, and nothing else"), beyond or without a team role.

The model and who sees it (`models`), making and revoking one (`actions`: checked, audited,
and the grantee's open sockets told to re-check), `/api/grants/` (`api`), and the container
page's *Access* section (`views`, `forms`)."""
