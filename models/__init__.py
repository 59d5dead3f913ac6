"""Entities, enums and the pure rules of the domain. Importing this package registers every table."""

from models.association import Association, FeeBracket, FeeKind, FeeRecord, FeeState, FeeStatus
from models.base import Base, utcnow
from models.calendar import CalendarEvent
from models.files import FileKind, StoredFile
from models.identity import AccessLog, ErasureRecord, MemberSession, SignInLink
from models.mission import AuditEvent, Mission, MissionCompetence, Scope
from models.mission_steps import (
    Announcement,
    AnnouncementStatus,
    Application,
    ApplicationStatus,
    Channel,
    CheckIn,
    CheckInStatus,
    Diffusion,
    Invitation,
    ObjectivesMet,
    PartyAnswer,
    Review,
    Roadmap,
    RoadmapObjective,
)
from models.org import Branch, Coordinator, Role
from models.outbox import MailStatus, OutboxMail
from models.public import PublicSubmission, SubmissionKind, SubmissionStatus
from models.rules import IllegalTransition, MissionStatus
from models.taxonomy import Competence, Domain
from models.volunteer import (
    Availability,
    ConsentKind,
    ConsentRecord,
    ConsentSource,
    PriorityFlag,
    Volunteer,
    VolunteerCompetence,
    VolunteerEvent,
)

__all__ = [
    "AccessLog",
    "Announcement",
    "AnnouncementStatus",
    "Application",
    "ApplicationStatus",
    "Association",
    "AuditEvent",
    "Availability",
    "Base",
    "Branch",
    "CalendarEvent",
    "Channel",
    "CheckIn",
    "CheckInStatus",
    "Competence",
    "ConsentKind",
    "ConsentRecord",
    "ConsentSource",
    "Coordinator",
    "Diffusion",
    "Domain",
    "ErasureRecord",
    "FeeBracket",
    "FeeKind",
    "FeeRecord",
    "FeeState",
    "FeeStatus",
    "FileKind",
    "IllegalTransition",
    "Invitation",
    "MailStatus",
    "MemberSession",
    "Mission",
    "MissionCompetence",
    "MissionStatus",
    "ObjectivesMet",
    "OutboxMail",
    "PartyAnswer",
    "PriorityFlag",
    "PublicSubmission",
    "Review",
    "Roadmap",
    "RoadmapObjective",
    "Role",
    "Scope",
    "SignInLink",
    "StoredFile",
    "SubmissionKind",
    "SubmissionStatus",
    "Volunteer",
    "VolunteerCompetence",
    "VolunteerEvent",
    "utcnow",
]
