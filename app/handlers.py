"""Every module that registers unit-of-work handlers. Imported by what composes the service (`app.main`,
`app.cli`, benchmarks that write in process); `app.core.uow.emit` refuses to run until it has been, so no
process writes without all of them.

Adding a handler module: one line here (docs/pipeline.md).
"""

from app.core import uow
from app.point_projects import events as _point_project_events  # noqa: F401  result.created from responses
from app.prioritisation import upkeep as _upkeep  # noqa: F401  the answer projection and ranking state
from app.webhooks import outbox as _outbox  # noqa: F401  webhook outbox rows

uow.installed()
