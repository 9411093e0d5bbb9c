"""The grant and request forms of the container page, and the grant form of the stack page.
They check the shape of what was sent; who may grant, request and decide is checked by
`console.grants.actions`, the same calls `/api/grants/`, `/api/stacks/{id}/grants/` and
`/api/access-requests/` make."""
from django import forms

from console.core.forms import UserField
from console.core.roles import GRANTABLE_ACTIONS
from console.grants.actions import REQUESTABLE_ACTIONS
from console.grants.models import STACK_GRANTABLE

ACTION_LABELS = {"view": "see it", "logs": "read its logs", "inspect": "inspect it",
                 "terminal": "open a terminal"}
STACK_ACTION_LABELS = {"view": "see it", "deploy": "deploy (edit its file)"}
DURATIONS = [(15 * 60, "15 minutes"), (3600, "1 hour"), (4 * 3600, "4 hours"),
             (8 * 3600, "8 hours"), (86400, "1 day"), (7 * 86400, "7 days"),
             (30 * 86400, "30 days")]


class ContainerGrantForm(forms.Form):
    user = UserField(label="Username")
    actions = forms.MultipleChoiceField(
        choices=[(a, ACTION_LABELS.get(a, a)) for a in GRANTABLE_ACTIONS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one action."})
    duration = forms.TypedChoiceField(choices=[("", "for good")] + DURATIONS, coerce=int,
                                      empty_value=None, required=False, label="For")


class StackGrantForm(ContainerGrantForm):
    """The same form on the stack page, with a stack's verbs."""

    actions = forms.MultipleChoiceField(
        choices=[(a, STACK_ACTION_LABELS.get(a, a)) for a in STACK_GRANTABLE],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one action."})


class AccessRequestForm(forms.Form):
    actions = forms.MultipleChoiceField(
        choices=[(a, ACTION_LABELS.get(a, a)) for a in REQUESTABLE_ACTIONS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one action."})
    duration = forms.TypedChoiceField(choices=DURATIONS, coerce=int, initial=3600, label="For")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
                             error_messages={"required": "Say why you need it."})


class DecisionForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label="Note to the requester")
