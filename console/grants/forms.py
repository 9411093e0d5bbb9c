"""The grant form of the container page. It checks the shape of what was sent; who may grant
is checked by `console.grants.actions`, the same call `POST /api/grants/` makes."""
from django import forms

from console.core.forms import UserField
from console.core.roles import GRANTABLE_ACTIONS

ACTION_LABELS = {"view": "see it", "logs": "read its logs", "inspect": "inspect it",
                 "terminal": "open a terminal"}


class ContainerGrantForm(forms.Form):
    user = UserField(label="Username")
    actions = forms.MultipleChoiceField(
        choices=[(a, ACTION_LABELS.get(a, a)) for a in GRANTABLE_ACTIONS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one action."})
