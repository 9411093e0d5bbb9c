"""The group → team mapping, applied at each single sign-on login.

For the teams the mapping table names (for the directory the user logged in through), the
directory decides: the user's role in each such team becomes the highest role any of their
groups maps to, and a user none of whose groups maps to a team is removed from it. Teams no
mapping names are left as they are (managed by hand). Each change is audited like a change
made on the team's page, and the user's open sockets re-check what they may do once it has
committed, so a terminal of a team the user just left closes.
"""
from console.core.roles import ROLE_ORDER
from console.sso.models import GroupMapping


def roles_from_groups(source: str, groups) -> tuple[set, dict]:
    """(the ids of the teams the mapping manages for `source`, {team id: role} wanted for a
    member of `groups`): the highest role of the groups that map to each team."""
    held = {str(group).strip().lower() for group in groups}
    managed, wanted = set(), {}
    for mapping in GroupMapping.objects.filter(source=source):
        managed.add(mapping.team_id)
        if mapping.group.strip().lower() in held:
            best = wanted.get(mapping.team_id)
            if best is None or ROLE_ORDER.index(mapping.role) > ROLE_ORDER.index(best):
                wanted[mapping.team_id] = mapping.role
    return managed, wanted
