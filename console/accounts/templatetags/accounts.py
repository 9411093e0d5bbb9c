"""`{% team_two_factor %}`: a team's requirement of two-factor login on its page (the form for
those who manage the team)."""
from django import template

from console.accounts.models import TeamTwoFactorRequirement

register = template.Library()


@register.inclusion_tag("accounts/_team_two_factor.html", takes_context=True)
def team_two_factor(context):
    team = context["team"]
    return {"team": team, "may_manage": context.get("may_manage"),
            "required": TeamTwoFactorRequirement.objects.filter(team=team).exists(),
            "csrf_token": context.get("csrf_token")}
