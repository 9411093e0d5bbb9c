"""Team quotas per host: memory, CPUs, PIDs, running containers and disk.

A team's containers on a host run in one engine group, `team-<id>` (`Team.group`), whose
memory, CPU and PIDs limits the kernel holds the whole team to, whatever each container asks
(`runtime.container.groups`); the host's agent keeps the group's limits equal to the quota
(`console.agent.team_groups`) and reports what the group uses (`GroupReading`). The console
itself refuses what the kernel cannot: a run or start past the team's number of running
containers, or while its disk (volumes and writable layers) is at its quota
(`checks.check_quota`, which stack deploys call too).

Superusers set quotas (`actions`: audited, and a job applies the limits on the host at once);
team admins see them and the usage page (`views`, `/api/quotas/`).
"""
