"""The schedule form of the container page. It checks the shape of what was sent; the cron
expression and the action's parameters are checked by `actions.create_schedule`, as for
`POST /api/schedules/`."""
from django import forms

from console.schedules.models import Schedule


class ScheduleForm(forms.Form):
    action = forms.ChoiceField(choices=Schedule.Action.choices)
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
