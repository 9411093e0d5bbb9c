"""The commit history: who committed which container into which image, from which parent, with
which changes, read like `git log` (per team, host, author, or one image's lineage, drawn as a
graph), one commit with its files, and tagging the image a commit made.

Pages (`views`, `urls`), `/api/commits/` (`api`) and the lineage graph (`lineage`). The rows are
`console.images.models.Commit`, written by the host's commit job beside the image it made;
committing a container is one of the container's actions (`containers.actions.act`)."""
