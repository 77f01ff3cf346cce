"""Opening a review project and every read or write the app makes, as plain functions, one
module per job: :mod:`.project` (opening, creating, engines), :mod:`.schema` (migration),
:mod:`.settings`, :mod:`.accounts`, :mod:`.leases` (next item, leases, skips), :mod:`.training`,
:mod:`.reviews` (the item page and saving answers) and :mod:`.progress` (read-outs and export
rows), their shapes typed in :mod:`.views`. Everything the app and the command line use is
re-exported here.
"""

from __future__ import annotations

from errata.review.models import CORRECT, DONT_KNOW
from errata.review.storage.accounts import (
    add_annotator,
    annotator_by_id,
    annotator_by_name,
    annotators,
    assigned_queues,
    set_assignments,
)
from errata.review.storage.leases import (
    leased_to_others,
    next_item,
    release_lease,
    renew_lease,
    skipped_count,
    unskip,
)
from errata.review.storage.progress import (
    answer_rows,
    image_original,
    image_original_for,
    progress,
)
from errata.review.storage.project import (
    BUSY_TIMEOUT_MS,
    DEFAULT_REVIEWS_PER_ITEM,
    LEASE_SECONDS,
    POOL_OVERFLOW,
    POOL_SIZE,
    PROJECT_FILE,
    SETTINGS_SECONDS,
    SQLITE_FILE,
    Project,
    Refused,
    create_project,
    open_project,
)
from errata.review.storage.reviews import item_view, parse_golden, queue_position, save_review
from errata.review.storage.schema import migrate
from errata.review.storage.settings import get_meta, set_meta
from errata.review.storage.training import set_training, training_count
from errata.review.storage.views import (
    AnnotatorRow,
    AnswerRows,
    ItemView,
    PersonProgress,
    Progress,
    QueuePosition,
    QueueProgress,
    no_progress,
)

__all__ = [
    "AnnotatorRow",
    "AnswerRows",
    "BUSY_TIMEOUT_MS",
    "CORRECT",
    "DEFAULT_REVIEWS_PER_ITEM",
    "DONT_KNOW",
    "ItemView",
    "LEASE_SECONDS",
    "POOL_OVERFLOW",
    "POOL_SIZE",
    "PROJECT_FILE",
    "PersonProgress",
    "Progress",
    "SETTINGS_SECONDS",
    "SQLITE_FILE",
    "Project",
    "QueuePosition",
    "QueueProgress",
    "Refused",
    "add_annotator",
    "annotator_by_id",
    "annotator_by_name",
    "annotators",
    "answer_rows",
    "assigned_queues",
    "create_project",
    "get_meta",
    "image_original",
    "image_original_for",
    "item_view",
    "leased_to_others",
    "migrate",
    "next_item",
    "no_progress",
    "open_project",
    "parse_golden",
    "progress",
    "queue_position",
    "release_lease",
    "renew_lease",
    "save_review",
    "set_assignments",
    "set_meta",
    "set_training",
    "skipped_count",
    "training_count",
    "unskip",
]
