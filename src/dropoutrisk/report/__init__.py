"""Per-student reports: one self-contained HTML page (and JSON) per student.

Examples
--------
>>> from dropoutrisk.report import TEMPLATE
>>> TEMPLATE
'student_report.html.j2'
"""

from dropoutrisk.report._attendance import MIN_SCHOOL_STUDENTS, weekly_attendance
from dropoutrisk.report._audit_report import AUDIT_FILES, AuditReport, audit_report
from dropoutrisk.report._evaluation_files import EVALUATION_FILES, EvaluationReport
from dropoutrisk.report._evaluation_report import evaluation_report
from dropoutrisk.report._model_card import MODEL_CARD_TEMPLATES, model_card
from dropoutrisk.report._student import TEMPLATE, StudentReport, student_report
from dropoutrisk.report._student_reports import StudentReports, student_reports

# Batch scoring lives in dropoutrisk.scoring; these names stay importable from here.
from dropoutrisk.scoring import PREDICTION_COLUMNS, ScoreResult, reason_columns, score

__all__ = [
    "AUDIT_FILES",
    "AuditReport",
    "EVALUATION_FILES",
    "EvaluationReport",
    "MIN_SCHOOL_STUDENTS",
    "MODEL_CARD_TEMPLATES",
    "PREDICTION_COLUMNS",
    "ScoreResult",
    "TEMPLATE",
    "audit_report",
    "evaluation_report",
    "StudentReport",
    "StudentReports",
    "model_card",
    "reason_columns",
    "score",
    "student_report",
    "student_reports",
    "weekly_attendance",
]
