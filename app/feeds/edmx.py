"""The shapes of the feeds: one table per questionnaire (every version's questions in one union) and the facility
registry, as OData properties; the service documents and the $metadata (EDMX) documents Central serves.

Names follow ODK Central (`org.opendatakit.user.<form>` namespaces, `Submissions`, `__id`, `__system` of type
`org.opendatakit.submission.metadata`, `Entities` with `label`), so clients written for Central read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from app.questionnaires.definition import Definition

# Question types → OData primitive types (Central's own mapping where XForms has the type).
EDM_TYPES = {
    "text": "Edm.String",
    "integer": "Edm.Int64",
    "decimal": "Edm.Decimal",
    "boolean": "Edm.Boolean",
    "date": "Edm.Date",
    "select_one": "Edm.String",
    "select_multiple": "Edm.String",  # the codes ticked, space-separated (as Central gives them)
    "geopoint": "Edm.GeographyPoint",  # GeoJSON Point, or WKT with $wkt=true
    "image": "Edm.String",  # the attachment's file name
    "file": "Edm.String",
}

# Properties every submission row carries besides its answers: the facility it is about and that facility's
# province (filterable: `province_code eq '68'`). Question ids cannot take these names (app.questionnaires).
SUBMISSION_COLUMNS = (("facility_id", "Edm.String"), ("province_code", "Edm.String"))

SUBMISSION_SYSTEM = (
    ("submissionDate", "Edm.DateTimeOffset"),
    ("updatedAt", "Edm.DateTimeOffset"),
    ("submitterId", "Edm.String"),
    ("submitterName", "Edm.String"),
    ("attachmentsPresent", "Edm.Int64"),
    ("attachmentsExpected", "Edm.Int64"),
    ("status", "org.opendatakit.submission.Status"),
    ("reviewState", "org.opendatakit.submission.ReviewState"),
    ("deviceId", "Edm.String"),
    ("edits", "Edm.Int64"),
    ("formVersion", "Edm.String"),
    ("channel", "Edm.String"),  # where the response came from: field | portal | office
)

ENTITY_SYSTEM = (
    ("createdAt", "Edm.DateTimeOffset"),
    ("creatorId", "Edm.String"),
    ("creatorName", "Edm.String"),
    ("updates", "Edm.Int64"),
    ("updatedAt", "Edm.DateTimeOffset"),
    ("version", "Edm.Int64"),
    ("conflict", "Edm.String"),
)

# The facility registry's properties (Entities of the dataset `facilities`), typed so a spreadsheet gets numbers.
FACILITY_PROPERTIES = (
    ("tax_code", "Edm.String"),
    ("kind", "Edm.String"),
    ("sector", "Edm.String"),
    ("vsic_code", "Edm.String"),
    ("province_code", "Edm.String"),
    ("ward_code", "Edm.String"),
    ("address", "Edm.String"),
    ("employees", "Edm.Int64"),
    ("annual_revenue_vnd", "Edm.Int64"),
    ("established_year", "Edm.Int64"),
    ("prior_support_count", "Edm.Int64"),
    ("last_support_year", "Edm.Int64"),
    ("location", "Edm.GeographyPoint"),
)


def identifier(name: str) -> str:
    """An OData SimpleIdentifier for a name such as `market-needs` (Central's sanitising: `_` for the rest)."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return f"_{out}" if out[:1].isdigit() else out


@dataclass(frozen=True)
class Column:
    """One answer column of a questionnaire's table: its question id, question type and OData type."""

    name: str
    qtype: str
    edm: str


def union_columns(versions: list[Definition]) -> list[Column]:
    """Every question of every version, once: the latest version's order first, then questions only older
    versions asked. A question whose type changed between versions is served as text."""
    types: dict[str, set[str]] = {}
    order: list[str] = []
    for d in sorted(versions, key=lambda d: -d.version):
        for q in d.questions:
            if q.id not in types:
                types[q.id] = set()
                order.append(q.id)
            types[q.id].add(q.type)
    out = []
    for qid in order:
        ts = types[qid]
        qtype = next(iter(ts)) if len(ts) == 1 else "text"
        out.append(Column(qid, qtype, EDM_TYPES[qtype]))
    return out


def service_document(context: str, sets: list[str]) -> dict[str, object]:
    return {"@odata.context": context, "value": [{"name": s, "kind": "EntitySet", "url": s} for s in sets]}


_CAPABILITIES = """          <Annotation Term="Org.OData.Capabilities.V1.ConformanceLevel" EnumMember="Org.OData.Capabilities.V1.ConformanceLevelType/Minimal"/>
          <Annotation Term="Org.OData.Capabilities.V1.BatchSupported" Bool="false"/>
          <Annotation Term="Org.OData.Capabilities.V1.CountRestrictions">
            <Record><PropertyValue Property="Countable" Bool="true"/></Record>
          </Annotation>
          <Annotation Term="Org.OData.Capabilities.V1.FilterRestrictions">
            <Record>
              <PropertyValue Property="Filterable" Bool="true"/>
              <PropertyValue Property="RequiresFilter" Bool="false"/>
              <PropertyValue Property="FilterableProperties">
                <Collection>
{filterable}
                </Collection>
              </PropertyValue>
            </Record>
          </Annotation>
          <Annotation Term="Org.OData.Capabilities.V1.SortRestrictions">
            <Record><PropertyValue Property="Sortable" Bool="false"/></Record>
          </Annotation>
          <Annotation Term="Org.OData.Capabilities.V1.ExpandRestrictions">
            <Record><PropertyValue Property="Expandable" Bool="false"/></Record>
          </Annotation>"""


def _props(props: list[tuple[str, str]], indent: str = "        ") -> str:
    return "\n".join(f"{indent}<Property Name={quoteattr(n)} Type={quoteattr(t)}/>" for n, t in props)


def _complex(name: str, props: tuple[tuple[str, str], ...]) -> str:
    return f'      <ComplexType Name="{name}">\n{_props(list(props))}\n      </ComplexType>'


def _capabilities(filterable: list[str]) -> str:
    paths = "\n".join(f"                  <PropertyPath>{p}</PropertyPath>" for p in filterable)
    return _CAPABILITIES.replace("{filterable}", paths)


def submissions_edmx(key: str, columns: list[Column], filterable: list[str]) -> str:
    """The $metadata of a questionnaire's feed: `Submissions` with every version's questions."""
    ns = f"org.opendatakit.user.{identifier(key)}"
    props = [("__id", "Edm.String"), ("__system", "org.opendatakit.submission.metadata"), *SUBMISSION_COLUMNS]
    props += [(c.name, c.edm) for c in columns]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
  <edmx:DataServices>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="org.opendatakit.submission">
{_complex("metadata", SUBMISSION_SYSTEM)}
      <EnumType Name="Status">
        <Member Name="notDecrypted"/>
        <Member Name="missingEncryptedFormData"/>
      </EnumType>
      <EnumType Name="ReviewState">
        <Member Name="hasIssues"/>
        <Member Name="edited"/>
        <Member Name="rejected"/>
        <Member Name="approved"/>
      </EnumType>
    </Schema>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="{ns}">
      <EntityType Name="Submissions">
        <Key><PropertyRef Name="__id"/></Key>
{_props(props)}
      </EntityType>
      <EntityContainer Name="{identifier(key)}">
        <EntitySet Name="Submissions" EntityType="{ns}.Submissions">
{_capabilities(filterable)}
        </EntitySet>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""


def entities_edmx(name: str, filterable: list[str]) -> str:
    """The $metadata of the facility registry (`Entities` of a dataset, as Central names them)."""
    ns = f"org.opendatakit.user.{identifier(name)}"
    props = [("__id", "Edm.String"), ("__system", "org.opendatakit.entity.metadata"), ("label", "Edm.String")]
    props += list(FACILITY_PROPERTIES)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
  <edmx:DataServices>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="org.opendatakit.entity">
{_complex("metadata", ENTITY_SYSTEM)}
    </Schema>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="{ns}">
      <EntityType Name="Entities">
        <Key><PropertyRef Name="__id"/></Key>
{_props(props)}
      </EntityType>
      <EntityContainer Name="{identifier(name)}">
        <EntitySet Name="Entities" EntityType="{ns}.Entities">
{_capabilities(filterable)}
        </EntitySet>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""
