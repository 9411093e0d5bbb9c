"""Where a request to do something on a host is for: the team it belongs to and the host it
runs on, chosen the same way for runs, pulls and builds. Each adds what is wrong to the
request's `FieldErrors`, beside the field `team` or `host`, and answers None."""
from console.hosts.models import Host
from console.teams.models import Team


def choose_team(user, value, errors, *, action="run", what="run containers") -> Team | None:
    """The team a request is for: `value` (a name or number), or the user's one team in which
    they may do `action`. A superuser's belongs to their team if they have exactly one, else to
    no team (superusers only)."""
    teams = Team.objects.restrict(user, action)
    if value in (None, ""):
        if user.is_superuser:
            own = list(Team.objects.filter(memberships__user=user)[:2])
            return own[0] if len(own) == 1 else None
        choices = list(teams[:2])
        if len(choices) == 1:
            return choices[0]
        if not choices:
            errors.add("team", f"You are in no team that may {what}.")
        else:
            errors.add("team", "You are in several teams: choose one.")
        return None
    lookup = {"pk": value} if str(value).isdigit() else {"name": value}
    team = teams.filter(**lookup).first()
    if team is None:
        errors.add("team", f"No team {value!r} in which you may {what}.")
    return team


def choose_host(user, team, value, errors) -> Host | None:
    if value in (None, ""):
        errors.add("host", "This field is required.")
        return None
    lookup = {"pk": value} if str(value).isdigit() else {"name": value}
    host = Host.objects.restrict(user, "view").filter(**lookup).first()
    if host is None:
        errors.add("host", f"No such host: {value}.")
        return None
    if team is not None and not host.grants.filter(team=team).exists():
        errors.add("host", f"Host {host.name} is not granted to team {team.name}.")
        return None
    if not host.is_online:
        when = f"last seen {host.last_seen:%Y-%m-%d %H:%M:%S} UTC" if host.last_seen else \
            "never seen"
        errors.add("host", f"Host {host.name} is offline ({when}).")
        return None
    return host
