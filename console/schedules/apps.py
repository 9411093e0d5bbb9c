from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "console.schedules"
    label = "schedules"
