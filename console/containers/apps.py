from django.apps import AppConfig


class ContainersConfig(AppConfig):
    name = "console.containers"
    label = "containers"

    def ready(self):
        # A wrong MOORAGE_PUBLISH_ADDRESSES or MOORAGE_PUBLISH_PORTS stops the console from
        # starting, with what is wrong, rather than failing run requests later.
        from console.containers.publishing import rules

        rules()
