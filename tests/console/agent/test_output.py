"""What a pull or build prints, kept on its job (`console/agent/output.py`, through the host
API): written while the job runs, from any thread; each new piece published with its offset
to those who may see the job; capped to its head and its tail with a line saying how much was
left out; the events socket forwards the pieces, and the other sockets of a user's groups let
them pass."""
import json
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from console.agent.output import JobOutput
from console.agent.worker import worker_identity
from console.jobs.models import Job
from console.streams import groups, publish

pytestmark = pytest.mark.django_db(transaction=True)


def make_job(world, worker=None):
    """A build running on h1 for `worker` (this agent's worker, unless said)."""
    return Job.objects.create(kind="build", host=world.hosts["h1"], team=world.teams["alpha"],
                              requested_by=world.user("developer"), state="running",
                              worker=worker or "h1@elsewhere:1")


class Listener:
    """A channel in a group, read by the test."""

    def __init__(self, group):
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(group, self.channel)

    def pieces(self):
        found = []
        while True:
            try:
                message = async_to_sync(self._receive)()
            except TimeoutError:
                return found
            if message["type"] == "job.output":
                found.append(message["output"])

    async def _receive(self):
        import asyncio

        try:
            return await asyncio.wait_for(self.layer.receive(self.channel), 0.2)
        except asyncio.TimeoutError:
            raise TimeoutError from None


def test_pieces_are_saved_and_published_with_their_offsets(world, agent):
    job = make_job(world, worker_identity())
    team, stranger = Listener(groups.team_group(job.team_id)), Listener(groups.team_group(
        world.teams["beta"].pk))
    with JobOutput(job.pk, flush_seconds=3600) as output:
        output.write("Step 1/2 : FROM busybox\n")
        output.flush()
        assert Job.objects.get(pk=job.pk).output == "Step 1/2 : FROM busybox\n"
        output.line("héllo ✓")
        output.write(b"bytes too\n")
    assert Job.objects.get(pk=job.pk).output == ("Step 1/2 : FROM busybox\nhéllo ✓\n"
                                                 "bytes too\n")
    pieces = team.pieces()
    assert pieces == [
        {"job": job.pk, "offset": 0, "text": "Step 1/2 : FROM busybox\n"},
        {"job": job.pk, "offset": 24, "text": "héllo ✓\nbytes too\n"}]
    assert stranger.pieces() == []


def test_the_output_keeps_its_head_and_tail(world, agent):
    job = make_job(world, worker_identity())
    listener = Listener(groups.team_group(job.team_id))
    with JobOutput(job.pk, head_chars=10, tail_chars=5, flush_seconds=3600) as output:
        output.write("0123456789")
        output.flush()
        output.write("abcdefghij")
        output.flush()
        output.write("klm")
    saved = Job.objects.get(pk=job.pk).output
    assert saved == "0123456789\n[... 8 characters of output left out ...]\nijklm"
    pieces = listener.pieces()
    assert pieces[:2] == [
        {"job": job.pk, "offset": 0, "text": "0123456789"},
        {"job": job.pk, "offset": 10,
         "text": "\n[... 5 characters of output left out ...]\nfghij"}]
    assert pieces[2] == {"job": job.pk, "offset": None, "text": ""}   # pages fetch it again


def test_writes_from_many_threads_all_arrive_and_the_flusher_saves_them(world, agent):
    job = make_job(world, worker_identity())
    with JobOutput(job.pk, flush_seconds=0.01) as output:
        def write(n):
            for i in range(200):
                output.line(f"thread {n} line {i}")
        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    lines = Job.objects.get(pk=job.pk).output.splitlines()
    assert len(lines) == 800 and len(set(lines)) == 800


def test_only_the_worker_running_the_job_writes_its_output(world, agent):
    """Another worker's job, or one that is over, takes no output from this agent."""
    job = make_job(world, "h1@elsewhere:1")
    with JobOutput(job.pk, flush_seconds=3600) as output:
        output.line("not mine")
    assert Job.objects.get(pk=job.pk).output == ""
    Job.objects.filter(pk=job.pk).update(worker=worker_identity(), state="succeeded")
    with JobOutput(job.pk, flush_seconds=3600) as output:
        output.line("too late")
    assert Job.objects.get(pk=job.pk).output == ""


async def test_the_events_socket_forwards_pieces_and_other_sockets_let_them_pass():
    from tests.console.streams_fixtures import FakeBridge, make_world, open_socket

    world = await make_world()
    job = await database_sync_to_async(make_job)(world)
    events, connected, _ = await open_socket("/ws/events/", world.user("viewer"))
    assert connected
    web = world.containers["web"].engine_id
    logs, connected, _ = await open_socket(f"/ws/containers/{web}/logs/", world.user("viewer"))
    assert connected
    await database_sync_to_async(publish.job_output)(job, offset=0, text="Step 1/1\n")
    message = await events.receive_json_from(timeout=2)
    assert message == {"type": "job-output",
                       "output": {"job": job.pk, "offset": 0, "text": "Step 1/1\n"}}
    assert await logs.receive_nothing(timeout=0.3)
    await logs.send_to(text_data=json.dumps({"type": "follow", "tail": 5}))
    assert (await FakeBridge().next("bridge.logs.start"))["tail"] == 5   # still alive
    await events.disconnect()
    await logs.disconnect()
