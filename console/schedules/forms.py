"""The schedule forms of the container page and the stack page. They check the shape of what
was sent; the cron expression and the action's parameters are checked by
`actions.create_schedule` (`create_stack_schedule`), as for `POST /api/schedules/`."""
from django import forms

from console.schedules.models import Schedule


class ScheduleForm(forms.Form):
    action = forms.ChoiceField(choices=[(value, label) for value, label in Schedule.Action.choices
                                        if value != Schedule.Action.REDEPLOY])
    cron = forms.CharField(max_length=100, label="When (cron, UTC)",
                           help_text="minute hour day month weekday, e.g. 0 3 * * * "
                                     "(03:00 every day), */15 * * * *, or @hourly, @daily")
    repository = forms.CharField(required=False, max_length=255,
                                 help_text="commit only: the image's name")
    tag = forms.CharField(required=False, max_length=128, initial="nightly-{date}",
                          help_text="commit only: {date} {time} {datetime} {run} are filled in")
    message = forms.CharField(required=False, max_length=5000)
    reason = forms.CharField(required=False, max_length=1000,
                             help_text="given with each run, where the team requires one")

    def params(self) -> dict:
        data = self.cleaned_data
        params = {"reason": data["reason"]} if data["reason"] else {}
        if data["action"] == "commit":
            params.update({"repository": data["repository"], "tag": data["tag"],
                           "message": data["message"]})
        return params


class StackScheduleForm(forms.Form):
    """Redeploying a stack's current version on a schedule."""

    cron = forms.CharField(max_length=100, label="When (cron, UTC)",
                           help_text="minute hour day month weekday, e.g. 0 3 * * 0 "
                                     "(03:00 every Sunday), or @daily, @weekly")
    message = forms.CharField(required=False, max_length=500,
                              help_text="the new version's message (by default: Version N "
                                        "again)")
    reason = forms.CharField(required=False, max_length=1000,
                             help_text="given with each run, where the team requires one")

    def params(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("message", "reason")
                if self.cleaned_data[name]}
