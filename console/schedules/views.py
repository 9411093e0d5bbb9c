"""Schedules on the container page and the stack page (their schedules, and the form for
their team's developers), and the schedules page (`/schedules/`: those of the user's teams,
with their next runs and how their last run went). Made, paused, resumed and deleted by
`console.schedules.actions`, as through `/api/schedules/`."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from console.containers.views import container_detail, container_for
from console.core.errors import Conflict, Invalid, NotFound, on_form, said_on
from console.core.permissions import get_for_user_or_404, user_may
from console.schedules import actions
from console.schedules.api import upcoming
from console.schedules.forms import ScheduleForm, StackScheduleForm
from console.schedules.models import Schedule


def with_upcoming(schedules, count=3) -> list:
    rows = list(schedules)
    for schedule in rows:
        schedule.upcoming = upcoming(schedule, count)
    return rows


def schedules_context(request, container, form=None) -> dict:
    """What the container page shows of its schedules."""
    may_schedule = container.team_id is not None and user_may(request.user, "schedule",
                                                               container.team)
    schedules = Schedule.objects.restrict(request.user, "view").filter(container=container)
    return {"schedules": with_upcoming(schedules.select_related("last_job")),
            "may_schedule": may_schedule,
            "schedule_form": form or (ScheduleForm() if may_schedule else None)}


def stack_schedules_context(request, stack, form=None) -> dict:
    """What the stack page shows of its schedules (redeploys)."""
    may_schedule = stack.team_id is not None and user_may(request.user, "schedule", stack.team)
    schedules = Schedule.objects.restrict(request.user, "view").filter(stack=stack)
    return {"schedules": with_upcoming(schedules.select_related("last_job")),
            "may_schedule": may_schedule,
            "schedule_form": form or (StackScheduleForm() if may_schedule else None)}


@login_required
@require_safe
def schedule_list(request):
    schedules = (Schedule.objects.restrict(request.user, "view")
                 .select_related("team", "container__host", "stack__host", "last_job"))
    changeable = set(Schedule.objects.restrict(request.user, "schedule")
                     .values_list("pk", flat=True))
    return render(request, "schedules/list.html", {
        "schedules": with_upcoming(schedules), "changeable": changeable})


@login_required
@require_POST
def schedule_add(request, ref):
    container = container_for(request, ref, "schedule")
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            schedule = actions.create_schedule(request.user, container,
                                               form.cleaned_data["action"],
                                               form.cleaned_data["cron"], form.params(),
                                               request=request)
        except Invalid as error:
            on_form(form, error)
        else:
            messages.success(request, f"Scheduled: {schedule.action} {container.display_name} "
                                      f"at {schedule.cron!r}, next at "
                                      f"{schedule.next_run_at:%Y-%m-%d %H:%M} UTC.")
            return redirect("container-detail", ref=container.engine_id)
    return container_detail(request, container.engine_id, schedule_form=form, status=400)


@login_required
@require_POST
def stack_schedule_add(request, pk):
    from console.stacks.views import stack_detail, stack_for

    stack = stack_for(request, pk, "schedule")
    form = StackScheduleForm(request.POST)
    if form.is_valid():
        try:
            schedule = actions.create_stack_schedule(request.user, stack, "redeploy",
                                                     form.cleaned_data["cron"], form.params(),
                                                     request=request)
        except (Invalid, Conflict) as error:
            on_form(form, error)
        else:
            messages.success(request, f"Scheduled: redeploy {stack.name} at {schedule.cron!r}, "
                                      f"next at {schedule.next_run_at:%Y-%m-%d %H:%M} UTC.")
            return redirect("stack-detail", pk=stack.pk)
    return stack_detail(request, stack.pk, schedule_form=form, status=400)


@login_required
@require_POST
@said_on("schedule-list")
def schedule_change(request, pk, verb):
    if verb not in ("pause", "resume", "delete"):
        raise NotFound("Pause, resume or delete.")
    schedule = get_for_user_or_404(Schedule.objects.select_related(
        "team", "container__host", "stack__host"), request.user, "view", pk=pk)
    if verb == "delete":
        actions.delete_schedule(request.user, schedule, request=request)
        messages.success(request, "Schedule deleted.")
    else:
        actions.set_paused(request.user, schedule, verb == "pause", request=request)
        messages.success(request, f"Schedule {'paused' if verb == 'pause' else 'resumed'}.")
    return redirect("schedule-list")
