"""What a `project-results` response must agree with, checked when it is stored (app.responses.rules):
its `point_project_code` names a project that supports its facility (approved, implementing or completed),
and no other response already reports the same stage for that facility and project (an edit of that response
is a revision: PUT /api/v1/responses/{id})."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session

from app.core.errors import AppError, Conflict, Invalid
from app.models import PointProject, PointProjectActivity, Response, ResponseRevision
from app.point_projects.service import REPORTABLE
from app.responses import rules

QUESTIONNAIRE = "project-results"


def _check(session: Session, items: list[rules.Item]) -> dict[int, AppError]:
    out: dict[int, AppError] = {}
    fids = sorted({it[2] for it in items if it[2]})
    supported: set[tuple[str, str]] = set()
    reported: dict[tuple[str, Any, Any], tuple[str, str | None]] = {}
    if fids:
        stmt = (
            select(PointProject.code, PointProjectActivity.facility_id)
            .join(PointProjectActivity, PointProjectActivity.project_id == PointProject.id)  # type: ignore[arg-type]
            .where(PointProjectActivity.facility_id.in_(fids), PointProject.state.in_(REPORTABLE))  # type: ignore[union-attr,attr-defined]
        )
        supported = {(c, f) for c, f in session.execute(stmt)}
        prior = (
            select(Response.id, Response.facility_id, Response.submitted_by, ResponseRevision.answers)
            .join(
                ResponseRevision,
                and_(
                    ResponseRevision.response_id == Response.id,
                    ResponseRevision.revision == Response.current_revision,
                ),
            )  # type: ignore[arg-type]  # fmt: skip
            .where(Response.questionnaire == QUESTIONNAIRE, Response.facility_id.in_(fids))  # type: ignore[arg-type,attr-defined]
        )
        for rid, fid, by, answers in session.execute(prior):
            reported[(fid, answers.get("point_project_code"), answers.get("stage"))] = (rid, by)
    seen: dict[tuple[str, Any, Any], tuple[str, str | None]] = {}
    for k, _version, fid, rid, answers, submitter in items:
        code, stage = answers.get("point_project_code"), answers.get("stage")
        if fid is None or (code, fid) not in supported:
            out[k] = Invalid.at(
                "answers.point_project_code",
                "not_supported_by_project",
                f"Cơ sở này không có trong đề án {code} (hoặc đề án chưa được phê duyệt): kiểm tra lại mã đề án "
                f"trong danh sách cơ sở được hỗ trợ. / This establishment is not supported by point project {code}.",
            )
            continue
        key = (fid, code, stage)
        other = reported.get(key) or seen.get(key)
        if other is not None and other[0] != rid:
            # The other response's id is named only to whoever submitted it (a field officer reads its own).
            which = f"phiếu {other[0]}" if other[1] == submitter else "một phiếu khác"
            out[k] = Conflict.at(
                "answers.stage",
                "stage_already_reported",
                f"Đợt báo cáo '{stage}' của cơ sở này trong đề án {code} đã có {which}: sửa phiếu đó "
                "(PUT /api/v1/responses/{id}) thay vì gửi phiếu mới. / This stage is already reported for this "
                "establishment and project; revise that response instead.",
            )
            continue
        seen[key] = (rid, submitter)
    return out


def install() -> None:
    rules.register(QUESTIONNAIRE, _check)
