"""Annotating: the home page, a queue's next item, an item's page, its lease heartbeat, skip and
the submitted answers (with the feedback page after a golden item in training).

An annotator only ever sees and writes their own answers: the annotator id comes from the
session, never from the form."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from errata.exceptions import ErrataInputError
from errata.review import forms, storage
from errata.review.models import ANSWER_CODES, QUEUES, Annotator
from errata.review.web.scoped import ScopedRoute
from errata.review.web.state import QUEUE_TITLES, AppState, Form, ItemView, State, TypedItem

LEASE_MINUTES = storage.LEASE_SECONDS // 60  # shown on the item page

router = APIRouter(route_class=ScopedRoute)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, state: State) -> Response:
    user = state.current_user(request)
    prog = storage.progress(state.project)
    mine = [a for a in storage.annotators(state.project) if a["id"] == user.id][0]
    own = prog["annotators"].get(user.name, storage.no_progress())
    return state.render(
        request, "home.html", user=user, queues=mine["queues"], progress=prog["queues"], own=own
    )


def _nothing_left(busy: int, skipped: int) -> str:
    """Why a queue has no item for this annotator now."""
    if busy:
        return (
            f"The {busy} item{'s' if busy != 1 else ''} still open to you "
            f"{'are' if busy != 1 else 'is'} being reviewed by others right now; "
            "try again in a few minutes (an item comes back when its reviewer skips "
            "it or leaves it)."
        )
    if skipped:
        return (
            f"Nothing left for you in this queue apart from the {skipped} "
            f"item{'s' if skipped != 1 else ''} you skipped."
        )
    return "Nothing left for you in this queue. Thank you!"


@router.get("/queue/{queue}")
def queue_next(request: Request, queue: str, state: State) -> Response:
    user = state.current_user(request)
    if queue not in QUEUES:
        raise HTTPException(status_code=404, detail="no such queue")
    item_id = storage.next_item(state.project, user.id, queue)
    if item_id is None:
        skipped = storage.skipped_count(state.project, user.id, queue)
        busy = storage.leased_to_others(state.project, user.id, queue)
        return state.render(
            request,
            "message.html",
            user=user,
            title=QUEUE_TITLES[queue],
            message=_nothing_left(busy, skipped),
            unskip=queue if skipped else None,
        )
    return RedirectResponse(f"/item/{item_id}", status_code=303)


@router.post("/queue/{queue}/unskip")
def queue_unskip(request: Request, queue: str, form: Form, state: State) -> Response:
    user = state.current_user(request)
    if queue not in QUEUES:
        raise HTTPException(status_code=404, detail="no such queue")
    storage.unskip(state.project, user.id, queue)
    return RedirectResponse(f"/queue/{queue}", status_code=303)


@router.get("/item/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: int, state: State) -> Response:
    user = state.current_user(request)
    view = state.own_item(user, item_id)
    # an item not yet answered is shown only while it is leased to this annotator (taken
    # here when it is free); otherwise the queue gives them another
    leased = view["done"] or view["leased"]  # (read with the item: no write needed)
    if not leased and not storage.renew_lease(state.project, item_id, user.id):
        return RedirectResponse(f"/queue/{view['queue']}", status_code=303)
    return render_item(state, request, user, view)


def render_item(
    state: AppState,
    request: Request,
    user: Annotator,
    view: ItemView,
    status: int = 200,
    error: str | None = None,
    missing: list[int] | None = None,
) -> HTMLResponse:
    """The item page (``error``: a message above the form; ``missing``: the candidates marked
    as unanswered)."""
    has_image = state.image_path(view["file_name"], view["original"]) is not None
    # the guides of the candidate classes; none on a blind classify page (its candidates
    # would give the label away), the answered class's once it is saved
    if view["queue"] != "classify":
        shown = view["candidates"]
    else:
        shown = list(view["answers"]) if view["done"] else []
    return state.render(
        request,
        "item.html",
        status=status,
        user=user,
        item=view,
        has_image=has_image,
        position=storage.queue_position(state.project, view["id"], user.id),
        lease_minutes=LEASE_MINUTES,
        class_options=state.class_options if view["queue"] == "classify" else [],
        class_option=forms.class_option,
        guides=state.guides.html(shown),
        error=error,
        missing=missing or [],
    )


def render_feedback(
    state: AppState,
    request: Request,
    user: Annotator,
    view: ItemView,
    answers: dict[int, int],
    score: dict[str, int],
) -> HTMLResponse:
    """After a golden item (a training task, or any golden item in training mode): the
    image, each question's expected answer beside the annotator's, and the guides of the
    classes asked about."""
    return state.render(
        request,
        "feedback.html",
        user=user,
        item=view,
        answers=answers,
        score=score,
        has_image=state.image_path(view["file_name"], view["original"]) is not None,
        guides=state.guides.html(list(view["golden"] or {})),
    )


@router.post("/item/{item_id}/lease")
def item_lease(request: Request, item_id: int, form: Form, state: State) -> Response:
    """Heartbeat of an open item page: renews the lease (204), or 409 when it was lost."""
    user = state.current_user(request)
    state.own_item(user, item_id)
    ok = storage.renew_lease(state.project, item_id, user.id)
    return Response(status_code=204 if ok else 409)


@router.post("/item/{item_id}/skip")
def item_skip(request: Request, item_id: int, form: Form, state: State) -> Response:
    """Give the item back (others may take it) and move on; it is not offered again to
    this annotator until they ask for their skipped items."""
    user = state.current_user(request)
    view = state.own_item(user, item_id)
    if not view["done"]:
        storage.release_lease(state.project, item_id, user.id, skip=True)
    return RedirectResponse(f"/queue/{view['queue']}", status_code=303)


def _unanswered(view: ItemView, answers: dict[int, int], form: dict[str, str]) -> str | None:
    """Why the answers to a novel or audit item are not saved as they are, or None."""
    if not answers:
        raise ErrataInputError(
            "Nothing was saved: no candidate label has an answer. Answer each one "
            "(Don't know is an answer too)."
        )
    missing = [c for c in view["candidates"] if c not in answers]
    if missing and form.get("partial_ok") != "1":
        return (
            f"Not saved yet: {len(missing)} of {len(view['candidates'])} candidate labels have "
            "no answer (marked below). Answer them, or press Save again to save without them."
        )
    return None


@router.post("/item/{item_id}")
def item_submit(request: Request, item_id: int, form: Form, state: State) -> Response:
    user = state.current_user(request)
    view = state.own_item(user, item_id)
    problematic = form.get("problematic") in ("on", "1", "true")
    note = form.get("note", "")[:2000]
    # what was typed, shown again when the form comes back with a message
    typed: TypedItem = {
        **view,
        "note": note,
        "problematic": problematic,
        "class_text": form.get("class_index", "").strip(),
    }
    try:
        if view["queue"] == "classify":
            answers = {forms.parse_class(typed["class_text"]): ANSWER_CODES["correct"]}
        else:
            answers = typed["answers"] = forms.parse_answers(form, view["candidates"])
            partly = _unanswered(view, answers, form)
            if partly is not None:
                missing = [c for c in view["candidates"] if c not in answers]
                return render_item(
                    state, request, user, typed, status=400, missing=missing, error=partly
                )
    except ErrataInputError as exc:
        return render_item(state, request, user, typed, status=400, error=str(exc))
    score = storage.save_review(
        state.project, item_id, user.id, answers, problematic=problematic, note=note
    )
    if view["golden"] is not None and (user.training or view["training"]):
        return render_feedback(state, request, user, view, answers, score)
    if view["done"]:  # an edit (reached with Back): on to the item answered after it
        after = storage.queue_position(state.project, item_id, user.id)["next"]
        if after is not None:
            return RedirectResponse(f"/item/{after}", status_code=303)
    return RedirectResponse(f"/queue/{view['queue']}", status_code=303)
