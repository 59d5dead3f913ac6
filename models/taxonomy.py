"""The competence taxonomy: domains (communication, finance...) and their precise competences."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


class Domain(Base):
    """A field of competence; priority flags are per domain."""

    __tablename__ = "domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    competences: Mapped[list[Competence]] = relationship(back_populates="domain", lazy="raise")


class Competence(Base):
    """A precise competence a mission needs and a volunteer has (e.g. « Refonte de site web »)."""

    __tablename__ = "competence"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id"), index=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    domain: Mapped[Domain] = relationship(back_populates="competences")
