"""Card-data columns and fields where storage is defined: SQL DDL, Rails schema.rb and
ActiveRecord migrations, Django models and migrations, SQLAlchemy models and Alembic migrations,
Prisma schema, TypeORM and Sequelize entities and migrations, Laravel migrations, Magento
db_schema.xml.

Two steps: each framework's syntax yields the *definitions* it makes (a field declared, a column
added, a column dropped), then the name of each definition is classified (PAN, CVV, or neither).
A name merely mentioned (a transient ``attr_reader :verification_value``, an error code
``"incorrect_cvv"``, an API type) is not a definition. A migration that drops a card column is the
fix: it is no finding, and it retires the earlier migrations that created that column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

# --- classifying a name -------------------------------------------------------------------------

_CVV = re.compile(
    r"(?:(?:card_|cc_|credit_card_|payment_card_|payment_)?(?:cvv2?|cvc2?|cvn|cav2?)"
    r"|(?:card_|cc_|credit_card_)(?:cid|csc|security_code)"
    r"|card_verification(?:_value|_code|_number)?|verification_value|card_security_code)"
    r"(?:_enc|_encrypted)?"  # Magento's quote_payment.cc_cid_enc: encrypted, still a CVV
)
_PAN = re.compile(
    r"(?:encrypted_)?(?:card|cc|credit_card|debit_card|payment_card|bank_card)_?"
    r"(?:number|num|no|pan)(?:_enc|_encrypted)?"
    r"|primary_account_number|pan_number|card_pan"
)


def snake(name: str) -> str:
    """cardNumber, CardNumber, card-number -> card_number."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip("`\"'[]$:@!?"))
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def classify(name: str) -> str | None:
    """ "cvv", "pan" or None for a column or field name."""
    normal = snake(name)
    if _CVV.fullmatch(normal):
        return "cvv"
    if _PAN.fullmatch(normal):
        return "pan"
    return None


# --- which files define storage -----------------------------------------------------------------


def framework(path: str, text: str) -> str | None:
    """The definition syntax a file uses, judged by name and a cheap look at the content."""
    p = path.replace("\\", "/").lower()
    name = PurePosixPath(p).name
    if name.endswith((".sql", ".ddl")):
        return "sql"
    if name.endswith(".prisma"):
        return "prisma"
    if name == "db_schema.xml":
        return "magento"
    if name.endswith(".rb"):
        if name in ("schema.rb",) or "/migrate/" in f"/{p}" or "create_table" in text:
            return "rails"
        return None
    if name.endswith(".py"):
        if "migrations.Migration" in text or (
            "models." in text and re.search(r"\bmodels\.Model\b|models\.\w*Field\(", text)
        ):
            return "django"
        if (
            re.search(r"\b(?:Column|mapped_column)\(", text)
            or "op.add_column" in text
            or "op.drop_column" in text
        ):
            return "sqlalchemy"
        return None
    if name.endswith((".ts", ".js", ".mjs", ".cjs")):
        if "@mikro-orm" in text or "addSql(" in text:
            return "mikroorm"
        if "@Column" in text or "queryRunner" in text or "TableColumn" in text:
            return "typeorm"
        if re.search(r"\bDataTypes\.|\bSequelize\.[A-Z]|queryInterface\.", text):
            return "sequelize"
        return None
    if name.endswith(".php"):
        if "Blueprint" in text or "$table->" in text:
            return "laravel"
        return None
    return None


def is_migration(path: str, fw: str) -> bool:
    p = "/" + path.replace("\\", "/").lower()
    return bool(re.search(r"/(migrate|migrations|migration|versions|alembic)/", p)) or (
        fw == "sql" and "migrat" in p
    )


# --- definitions per framework ------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    name: str
    line: int
    action: str  # "add" | "drop"
    table: str | None


_SQL_TYPES = (
    r"(?:var)?char|character|n?varchar|n?text|tinytext|mediumtext|longtext|string|int|integer|"
    r"bigint|smallint|numeric|decimal|number|varchar2|nvarchar2|clob|blob|bytea|binary|varbinary|"
    r"uuid|json|jsonb"
)
_SQL_COLUMN = re.compile(
    r"(?:^|[(,])\s*(?:ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?)?[`\"\[]?(\w+)[`\"\]]?\s+"
    rf"(?:{_SQL_TYPES})\b",
    re.I,
)
_SQL_TABLE = re.compile(
    r"\b(?:CREATE\s+(?:TEMPORARY\s+)?TABLE(?:\s+IF\s+NOT\s+EXISTS)?|ALTER\s+TABLE(?:\s+ONLY)?(?:\s+IF\s+EXISTS)?)"
    r"\s+([`\"\[]?[\w.]+[`\"\]]?)",
    re.I,
)
_SQL_DROP = re.compile(r"\bDROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?[`\"\[]?(\w+)[`\"\]]?", re.I)
_SQL_KEYWORDS = {"constraint", "primary", "foreign", "unique", "key", "index", "check", "table"}
# DROP NOT NULL, DROP DEFAULT, DROP TABLE ...: drops of something other than a column
_SQL_DROP_OTHER = _SQL_KEYWORDS | {
    "not",
    "default",
    "identity",
    "expression",
    "view",
    "sequence",
    "trigger",
    "type",
    "schema",
    "database",
    "function",
    "extension",
    "materialized",
    "if",
    "column",
    "policy",
    "owned",
}


def _table(raw: str | None) -> str | None:
    if not raw:
        return None
    return snake(raw.split(".")[-1])


def sql(text: str, first_line: int = 1, table: str | None = None) -> list[Definition]:
    out = []
    for number, line in enumerate(text.splitlines(), first_line):
        code = line.split("--", 1)[0]
        t = _SQL_TABLE.search(code)
        if t:
            table = _table(t.group(1))
            code = code[t.end() :]
        for m in _SQL_DROP.finditer(code):
            if m.group(1).lower() not in _SQL_DROP_OTHER:
                out.append(Definition(m.group(1), number, "drop", table))
        code = _SQL_DROP.sub(" ", code)
        for m in _SQL_COLUMN.finditer(code):
            if m.group(1).lower() not in _SQL_KEYWORDS:
                out.append(Definition(m.group(1), number, "add", table))
    return out


_RB_TABLE = re.compile(r"\b(?:create_table|change_table)\s*\(?\s*[:\"']([\w.]+)")
_RB_FIELD = re.compile(
    r"^\s*t\.(?!remove|index|references|belongs_to|timestamps)\w+\s+[:\"']([\w]+)"
)
_RB_ADD = re.compile(r"\badd_column\s*\(?\s*[:\"']([\w.]+)[\"']?\s*,\s*[:\"']([\w]+)")
_RB_REMOVE = re.compile(r"\bremove_columns?\s*\(?\s*[:\"']([\w.]+)[\"']?\s*,\s*(.*)")
_RB_T_REMOVE = re.compile(r"^\s*t\.remove\s+(.*)")
_RB_RENAME = re.compile(
    r"\brename_column\s*\(?\s*[:\"']([\w.]+)[\"']?\s*,\s*[:\"'](\w+)[\"']?\s*,\s*[:\"'](\w+)"
)
_SYMBOLS = re.compile(r"[:\"'](\w+)")


def rails(text: str) -> list[Definition]:
    out = []
    table = None
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if m := _RB_TABLE.search(code):
            table = _table(m.group(1))
        if m := _RB_ADD.search(code):
            out.append(Definition(m.group(2), number, "add", _table(m.group(1))))
        elif m := _RB_REMOVE.search(code):
            for name in _SYMBOLS.findall(m.group(2).split("type:")[0]):
                out.append(Definition(name, number, "drop", _table(m.group(1))))
        elif m := _RB_RENAME.search(code):
            out.append(Definition(m.group(2), number, "drop", _table(m.group(1))))
            out.append(Definition(m.group(3), number, "add", _table(m.group(1))))
        elif m := _RB_T_REMOVE.search(code):
            for name in _SYMBOLS.findall(m.group(1)):
                out.append(Definition(name, number, "drop", table))
        elif m := _RB_FIELD.search(code):
            out.append(Definition(m.group(1), number, "add", table))
    return out


# models.CharField( or an imported CharField(; never forms.CharField or serializers.CharField,
# which describe input, not storage
_DJ_FIELD = re.compile(r"^\s*(\w+)\s*(?::\s*[\w\[\]., ]+)?=\s*(?:models\.)?\w*Field\(")
_DJ_TUPLE = re.compile(r"^\s*\(\s*[\"'](\w+)[\"']\s*,\s*(?:models\.)?\w*Field\(")
_DJ_MODEL = re.compile(r"(?:model_name|name)\s*=\s*[\"'](\w+)[\"']")
_DJ_OP = re.compile(r"migrations\.(AddField|RemoveField|AlterField|RenameField|CreateModel)\(")


def django(text: str) -> list[Definition]:
    out = []
    lines = text.splitlines()
    model = None
    for number, line in enumerate(lines, 1):
        code = line.split("#", 1)[0]
        if m := re.match(r"^class\s+(\w+)\s*\(", code):
            model = snake(m.group(1))
        if m := _DJ_OP.search(code):
            op = m.group(1)
            window = " ".join(lines[number - 1 : number + 6])
            model_name = re.search(r"model_name\s*=\s*[\"'](\w+)[\"']", window)
            if op == "CreateModel":
                created = re.search(r"name\s*=\s*[\"'](\w+)[\"']", window)
                model = snake(created.group(1)) if created else None
                continue
            name = re.search(r"(?<!model_)name\s*=\s*[\"'](\w+)[\"']", window)
            if op == "RenameField":
                old = re.search(r"old_name\s*=\s*[\"'](\w+)[\"']", window)
                new = re.search(r"new_name\s*=\s*[\"'](\w+)[\"']", window)
                table = snake(model_name.group(1)) if model_name else None
                if old:
                    out.append(Definition(old.group(1), number, "drop", table))
                if new:
                    out.append(Definition(new.group(1), number, "add", table))
                continue
            if name:
                table = snake(model_name.group(1)) if model_name else None
                action = "drop" if op == "RemoveField" else "add"
                out.append(Definition(name.group(1), number, action, table))
            continue
        if m := _DJ_TUPLE.match(code):
            out.append(Definition(m.group(1), number, "add", model))
        elif m := _DJ_FIELD.match(code):
            out.append(Definition(m.group(1), number, "add", model))
    return out


_SA_ATTR = re.compile(r"^\s*(\w+)\s*(?::\s*[\w\[\]., |]+)?=\s*(?:\w+\.)?(?:Column|mapped_column)\(")
_SA_NAMED = re.compile(r"(?:\w+\.)?Column\(\s*[\"'](\w+)[\"']")
_SA_TABLE = re.compile(
    r"__tablename__\s*=\s*[\"'](\w+)|\bTable\(\s*[\"'](\w+)|op\.(?:add|drop)_column\(\s*[\"'](\w+)"
)
_SA_DROP = re.compile(r"op\.drop_column\(\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)")


def sqlalchemy(text: str) -> list[Definition]:
    out = []
    table = None
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if m := re.match(r"^class\s+(\w+)", code):
            table = snake(m.group(1))
        if m := _SA_TABLE.search(code):
            table = snake(next(g for g in m.groups() if g))
        if m := _SA_DROP.search(code):
            out.append(Definition(m.group(2), number, "drop", snake(m.group(1))))
            continue
        if m := _SA_NAMED.search(code):
            out.append(Definition(m.group(1), number, "add", table))
        elif m := _SA_ATTR.match(code):
            out.append(Definition(m.group(1), number, "add", table))
    return out


_PRISMA_MODEL = re.compile(r"^\s*model\s+(\w+)\s*\{")
_PRISMA_FIELD = re.compile(r"^\s*(\w+)\s+[A-Z]\w*(?:\[\])?\??(?:\s|$)")


def prisma(text: str) -> list[Definition]:
    out = []
    model = None
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("//", 1)[0]
        if m := _PRISMA_MODEL.match(code):
            model = snake(m.group(1))
        elif code.strip() == "}":
            model = None
        elif model and (m := _PRISMA_FIELD.match(code)):
            mapped = re.search(r"@map\(\s*\"(\w+)\"", code)
            out.append(Definition(mapped.group(1) if mapped else m.group(1), number, "add", model))
    return out


_TS_PROP = re.compile(r"^\s*(?:(?:public|private|protected|readonly|declare)\s+)*(\w+)\s*[!?]?\s*:")
_TS_COLUMN_NAME = re.compile(
    r"@(?:\w*Column|Property|PrimaryKey|Enum)\(\s*\{[^}]*\b(?:name|fieldName)\s*:\s*[\"'](\w+)"
)
_TS_ENTITY = re.compile(r"@Entity\(\s*(?:[\"'](\w+)|\{[^}]*name\s*:\s*[\"'](\w+))?|class\s+(\w+)")
_TS_SQL = re.compile(r"""(?:\.query|addSql)\(\s*(`|"|')(.*?)\1""", re.S)  # SQL in strings
_TS_DECORATOR = re.compile(r"@(?:\w*Column|Property|PrimaryKey|Enum)\(")
_TS_TABLECOLUMN = re.compile(r"new\s+TableColumn\(\s*\{[^}]*name\s*:\s*[\"'](\w+)")
_TS_DROPCOLUMN = re.compile(r"\.dropColumns?\(\s*[\"'](\w+)[\"']\s*,\s*(.*)")


def typeorm(text: str) -> list[Definition]:
    """Decorated properties (@Column/@Property ... then `name: type`), TableColumn, dropColumn,
    and SQL in query()/addSql() strings."""
    out = []
    table = None
    for q in _TS_SQL.finditer(text):
        out += sql(q.group(2), text.count("\n", 0, q.start(2)) + 1)
    pending: int | None = None  # line of a column decorator waiting for its property
    depth = 0  # open parentheses of that decorator's arguments
    arguments = ""  # the decorator's arguments so far (an explicit name: wins)
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("//", 1)[0]
        if m := _TS_ENTITY.search(code):
            named = m.group(1) or m.group(2) or m.group(3)
            if named:
                table = snake(named)
        if m := _TS_TABLECOLUMN.search(code):
            out.append(Definition(m.group(1), number, "add", table))
        if m := _TS_DROPCOLUMN.search(code):
            for name in re.findall(r"[\"'](\w+)[\"']", m.group(2)):
                out.append(Definition(name, number, "drop", snake(m.group(1))))
        rest = code
        if pending is None and (d := _TS_DECORATOR.search(code)):
            pending, depth, arguments, rest = number, 0, "", code[d.start() :]
        if pending is None:
            continue
        open_args = False
        while depth > 0 or rest.lstrip().startswith("@"):
            # inside a decorator's arguments: count parentheses to find where they close
            for index, ch in enumerate(rest):
                depth += ch == "("
                depth -= ch == ")"
                if depth == 0 and ch == ")":
                    arguments += rest[: index + 1]
                    rest = rest[index + 1 :]
                    break
            else:
                arguments += rest
                open_args = True
                break
        if open_args:
            continue
        explicit = _TS_COLUMN_NAME.search(arguments)
        if m := _TS_PROP.match(rest):
            name = explicit.group(1) if explicit else m.group(1)
            out.append(Definition(name, pending, "add", table))
            pending = None
        elif rest.strip() and number - pending > 40:
            pending = None  # not a property after all
    return out


_SEQ_FIELD = re.compile(
    r"^\s*[\"']?(\w+)[\"']?\s*:\s*(?:\{\s*(?:type\s*:\s*)?)?(?:DataTypes|Sequelize|Sequelize\.DataTypes)\.[A-Z]"
)
_SEQ_FIELD_OPEN = re.compile(r"^\s*[\"']?(\w+)[\"']?\s*:\s*\{\s*$")
_SEQ_ADD = re.compile(r"queryInterface\.addColumn\(\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)")
_SEQ_REMOVE = re.compile(r"queryInterface\.removeColumn\(\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)")
_SEQ_TABLE = re.compile(r"(?:createTable|define|tableName\s*:)\s*\(?\s*[\"'](\w+)")


def sequelize(text: str) -> list[Definition]:
    out = []
    lines = text.splitlines()
    table = None
    for number, line in enumerate(lines, 1):
        code = line.split("//", 1)[0]
        if m := _SEQ_TABLE.search(code):
            table = snake(m.group(1))
        if m := _SEQ_ADD.search(code):
            out.append(Definition(m.group(2), number, "add", snake(m.group(1))))
        elif m := _SEQ_REMOVE.search(code):
            out.append(Definition(m.group(2), number, "drop", snake(m.group(1))))
        elif m := _SEQ_FIELD.match(code):
            out.append(Definition(m.group(1), number, "add", table))
        elif m := _SEQ_FIELD_OPEN.match(code):
            following = " ".join(lines[number : number + 3])
            if re.search(r"type\s*:\s*(?:DataTypes|Sequelize)\.[A-Z]", following):
                out.append(Definition(m.group(1), number, "add", table))
    return out


_PHP_TABLE = re.compile(r"Schema::(?:create|table)\(\s*[\"'](\w+)")
_PHP_FIELD = re.compile(
    r"\$table->(?!drop|index|unique|primary|foreign|rename)(\w+)\(\s*[\"'](\w+)"
)
_PHP_DROP = re.compile(r"\$table->dropColumn\(\s*(.*)")
_PHP_RENAME = re.compile(r"\$table->renameColumn\(\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)")


def laravel(text: str) -> list[Definition]:
    out = []
    table = None
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("//", 1)[0]
        if m := _PHP_TABLE.search(code):
            table = snake(m.group(1))
        if m := _PHP_DROP.search(code):
            for name in re.findall(r"[\"'](\w+)[\"']", m.group(1)):
                out.append(Definition(name, number, "drop", table))
        elif m := _PHP_RENAME.search(code):
            out.append(Definition(m.group(1), number, "drop", table))
            out.append(Definition(m.group(2), number, "add", table))
        else:
            for m in _PHP_FIELD.finditer(code):
                out.append(Definition(m.group(2), number, "add", table))
    return out


def magento(text: str) -> list[Definition]:
    out = []
    table = None
    for number, line in enumerate(text.splitlines(), 1):
        if m := re.search(r"<table\b[^>]*\bname=\"(\w+)\"", line):
            table = snake(m.group(1))
        if m := re.search(r"<column\b[^>]*\bname=\"(\w+)\"", line):
            out.append(Definition(m.group(1), number, "add", table))
    return out


PARSERS = {
    "sql": sql,
    "rails": rails,
    "django": django,
    "sqlalchemy": sqlalchemy,
    "prisma": prisma,
    "typeorm": typeorm,
    "mikroorm": typeorm,  # the same decorator-and-property shape, SQL in addSql()
    "sequelize": sequelize,
    "laravel": laravel,
    "magento": magento,
}


@dataclass(frozen=True)
class CardField:
    path: str
    line: int
    column: str
    kind: str  # "pan" | "cvv"
    framework: str
    table: str | None
    action: str  # "add" | "drop"
    migration: bool


def card_fields(path: str, text: str, fw: str | None = None) -> list[CardField]:
    """Every card-data field the file defines or drops."""
    fw = fw or framework(path, text)
    if fw is None:
        return []
    migration = is_migration(path, fw)
    out = []
    for d in PARSERS[fw](text):
        kind = classify(d.name)
        if kind is not None:
            out.append(CardField(path, d.line, d.name, kind, fw, d.table, d.action, migration))
    return out


def _order(path: str) -> str | None:
    """Migrations named by timestamp or sequence sort in the order they run; others: None."""
    name = PurePosixPath(path).name
    return name if name[:1].isdigit() else None


def live(fields: list[CardField]) -> tuple[list[CardField], list[CardField]]:
    """(still defined, retired): drops are never findings, and a migration that adds a column a
    later migration drops is history. Models and schema snapshots always describe the present."""
    drops = [f for f in fields if f.action == "drop"]
    keep: list[CardField] = []
    retired = list(drops)
    for f in fields:
        if f.action == "drop":
            continue
        dropped_later = f.migration and any(
            snake(d.column) == snake(f.column)
            and (d.table is None or f.table is None or d.table == f.table)
            and _after(d, f)
            for d in drops
        )
        (retired if dropped_later else keep).append(f)
    return keep, retired


def _after(drop: CardField, add: CardField) -> bool:
    if drop.path == add.path:
        return drop.line > add.line
    a, b = _order(add.path), _order(drop.path)
    return a is None or b is None or b > a
