"""What Collect shows a field officer after a submission: the service's errors, said in Vietnamese.

Only the wording is here: every verdict comes from the services behind the JSON API (their error codes and
paths), and each message names the question by its Vietnamese label.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import MAX_MESSAGE_CHARS, AppError, clip
from app.questionnaires.definition import Definition, Question

FACILITY_FIELDS_VI = {"name": "Tên cơ sở", "kind": "Loại hình", "sector": "Ngành nghề", "province_code": "Tỉnh",
                      "ward_code": "Xã, phường", "tax_code": "Mã số thuế"}  # fmt: skip
BY_STATUS = {
    400: "Yêu cầu chưa hợp lệ.",
    401: "Cần đăng nhập: tên người dùng là tên khóa, mật khẩu là mã khóa do quản trị viên cấp.",
    403: "Khóa này không được phép làm việc này.",
    404: "Không tìm thấy.",
    409: "Xung đột: mã bản ghi (instanceID) này đã dùng cho nội dung khác; bản ghi đã lưu không bị ghi đè.",
    413: "Bản gửi quá lớn.",
    415: "Loại tệp không được chấp nhận.",
    429: "Gửi quá nhiều trong một phút; Collect sẽ gửi lại sau.",
    503: "Máy chủ đang bận; hãy gửi lại sau ít phút.",
}


def _num(n: Any) -> str:
    return f"{n:,}".replace(",", " ") if isinstance(n, int) or float(n).is_integer() else str(n)


def _answer(q: Question, code: str) -> str:
    unit = f" {q.unit_text('vi')}" if q.unit else ""
    return {
        "required": "bắt buộc phải trả lời",
        "null": "bắt buộc phải trả lời",
        "not_relevant": "không áp dụng với các câu trả lời trước, hãy để trống",
        "too_small": f"phải ít nhất {_num(q.min)}{unit}" if q.min is not None else "quá nhỏ",
        "too_large": f"phải nhiều nhất {_num(q.max)}{unit}" if q.max is not None else "quá lớn",
        "too_short": f"phải có ít nhất {q.min_length} ký tự",
        "too_long": f"phải có nhiều nhất {q.max_length} ký tự",
        "pattern": "chưa đúng định dạng" + (f" ({q.hint['vi']})" if q.hint else ""),
        "not_a_choice": "không phải một lựa chọn của câu hỏi",
        "duplicate_choice": "một lựa chọn bị chọn hai lần",
        "exclusive_choice": "lựa chọn loại trừ phải được chọn một mình",
        "invalid_date": "ngày không hợp lệ",
        "type": "sai kiểu dữ liệu",
        "not_finite": "số không hợp lệ",
        "out_of_range": "vị trí nằm ngoài giới hạn",
        "unknown_key": "vị trí không hợp lệ",
        "invalid_file_name": "tên tệp không hợp lệ",
    }.get(code, "chưa hợp lệ")


def _field(error: dict[str, str], d: Definition | None) -> str | None:
    """The error in Vietnamese, or None when it has no Vietnamese wording here (the English detail is shown)."""
    path, code = error.get("path", ""), error.get("code", "")
    if path.startswith("answers."):
        qid = path.split(".", 2)[1]
        q = d.question(qid) if d else None
        if q is None:
            return f"'{qid}' không phải câu hỏi của bảng hỏi này (hãy tải lại biểu mẫu)"
        check = d.check(error.get("check", "")) if d and code == "check_failed" else None
        if check is not None:  # a check across answers: its own Vietnamese message, at each question it names
            return f"{q.label['vi']}: {check.text('vi')}"
        return f"{q.label['vi']}: {_answer(q, code)}"
    if path == "facility_id" and code == "facility_changed":  # responses.instances: an edit keeps it
        return "Bản sửa phải giữ cơ sở của bản ghi đã gửi; để khảo sát cơ sở khác, hãy tạo bản ghi mới"
    if path == "facility_id":
        return ("Cơ sở đã chọn không có trong danh sách của khóa này; hãy tải lại biểu mẫu để cập nhật danh sách "
                "cơ sở, hoặc chọn \"Cơ sở mới\"")  # fmt: skip
    if path.startswith("facility."):
        field = path.split(".", 1)[1]
        return f"Cơ sở mới, {FACILITY_FIELDS_VI.get(field, field)}: {error.get('message', '')}"
    if path == "collected_at":
        return "Thời điểm thu thập ở tương lai: hãy kiểm tra ngày giờ của máy"
    return None


def for_error(exc: AppError, d: Definition | None = None, *, submission: bool = False) -> str:
    """One message for Collect's screen: what happened, then each broken answer by its Vietnamese label."""
    status = 400 if exc.status == 422 else exc.status
    wait = getattr(exc, "retry_after", None)  # access.throttle.CredentialsThrottled
    if wait is not None:
        return (f"Đã có quá nhiều lần đăng nhập sai (tên người dùng hoặc mật khẩu); hãy đợi {-(-wait // 60)} phút "
                "rồi thử lại, và kiểm tra tên khóa và mã khóa trong cài đặt máy chủ của Collect.")  # fmt: skip
    head = (
        "Bản ghi chưa được nhận." if submission and status == 400 else BY_STATUS.get(status, "Có lỗi xảy ra.")
    )
    # exc.errors holds at most the first MAX_FIELD_ERRORS (core.errors.bounded); exc.more_errors counts the rest
    said = [clip(t, MAX_MESSAGE_CHARS) for t in (_field(e, d) for e in exc.errors or []) if t]
    more = getattr(exc, "more_errors", 0)
    if said:
        answers = len({(e.get("path") or "").split(".")[1] for e in exc.errors or []
                       if (e.get("path") or "").startswith("answers.")})  # fmt: skip
        if answers and more:
            head = f"Bản ghi chưa được nhận: có {len(exc.errors or []) + more:,} lỗi; đây là {len(said)} lỗi đầu."
        elif answers:
            head = f"Bản ghi chưa được nhận: {answers} câu trả lời chưa hợp lệ."
        tail = f" • … và {more:,} lỗi khác." if more else ""
        return head + " " + " ".join(f"• {t.rstrip('.')}." for t in said) + tail
    detail = f" ({clip(exc.detail, 1000).rstrip('.')}.)" if exc.detail and exc.detail != exc.title else ""
    return head + detail


def received(revision: int, created: bool, files: int, waiting: int) -> str:
    what = "Đã nhận bản ghi" if revision == 1 else f"Đã nhận bản sửa lần {revision - 1}"
    if not created:
        what = "Bản ghi này đã được nhận trước đó"
    tail = f"; đã nhận {files} tệp" if files else ""
    if waiting:
        tail += f"; còn chờ {waiting} tệp"
    return what + tail + "."
