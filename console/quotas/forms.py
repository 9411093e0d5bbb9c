"""The quota form of the usage page (superusers). It checks the shape of what was sent; the
limits are read as the API reads them (`limits.read_limits`) and set by `actions.set_quota`."""
from django import forms

from console.core.errors import Invalid, on_form
from console.hosts.models import Host
from console.quotas.limits import read_limits


class QuotaForm(forms.Form):
    host = forms.ModelChoiceField(queryset=Host.objects.none(), empty_label=None)
    memory = forms.CharField(required=False, max_length=40, help_text="e.g. 512m; empty: none")
    cpus = forms.CharField(required=False, max_length=40, label="CPUs", help_text="e.g. 1.5")
    pids = forms.CharField(required=False, max_length=40, label="PIDs")
    containers = forms.CharField(required=False, max_length=40, label="Running containers")
    disk = forms.CharField(required=False, max_length=40, help_text="e.g. 10g")

    def __init__(self, team, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = Host.objects.filter(grants__team=team)
        self.limits = None

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                self.limits = read_limits(data, data.get("host"))
            except Invalid as error:
                on_form(self, error)
        return data
