"""What the pages' forms share: a username field that gives the active user, and the team and
host choices of a form that does something on a host (run, pull, build)."""
from django import forms
from django.contrib.auth import get_user_model

from console.teams.models import Team


class UserField(forms.CharField):
    """A username in, the active user out."""

    def __init__(self, **kwargs):
        super().__init__(max_length=150, **kwargs)

    def clean(self, value):
        username = super().clean(value).strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No such user: {username}.")
        return user


def offer_teams(field, user, action: str, *, no_team: str) -> None:
    """The teams `user` may `action` in as `field`'s choices: hidden when there is one (or
    none) to choose from; superusers may also choose `no_team`."""
    teams = list(Team.objects.restrict(user, action))
    field.choices = [(t.name, t.name) for t in teams]
    if len(teams) <= 1 and not user.is_superuser:
        field.widget = forms.HiddenInput()
        if teams:
            field.initial = teams[0].name
    elif user.is_superuser:
        field.choices = [("", no_team)] + field.choices


def host_choices(hosts) -> list[tuple[str, str]]:
    """Hosts as choices, those offline said so."""
    return [(h.name, h.name if h.is_online else f"{h.name} (offline)") for h in hosts]
