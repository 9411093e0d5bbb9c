"""What the stack tests share: a valid file, posting a stack, and that nothing was made."""
from console.jobs.models import Job
from console.stacks.models import Stack, StackVersion

FILE = """services:
  web:
    image: busybox
    command: httpd -f -p 80
    ports: ["8080:80"]
    volumes: ["data:/srv"]
    depends_on: [db]
  db:
    image: busybox
    command: sleep 600
    environment:
      PASSWORD: ${DB_PASSWORD}
volumes:
  data: {}
"""
ENV = "DB_PASSWORD=s3cret-value\n"


def post(client, query="", **body):
    body.setdefault("name", "shop")
    body.setdefault("host", "h1")
    body.setdefault("compose", FILE)
    body.setdefault("env", ENV)
    return client.post(f"/api/stacks/{query}", body, content_type="application/json")


def nothing_made() -> bool:
    return not Stack.objects.exists() and not StackVersion.objects.exists() and \
        not Job.objects.exists()


def make_stack(world, name="shop", text=FILE, env=ENV, team="alpha", **extra):
    stack = Stack.objects.create(name=name, host=world.hosts["h1"], team=world.teams[team],
                                 **extra)
    StackVersion.objects.create(stack=stack, number=1, compose=text, env=env,
                                services=["db", "web"], author_name="developer",
                                message="first")
    return stack
