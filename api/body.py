"""StrictBody: request bodies decoded once by msgspec in strict mode.

Litestar converts bodies leniently ("9" would pass as 9); this DTO rejects such input with
a 422 naming the field (or a 400 for malformed JSON) and documents `doc_type` (default:
the model type) in the OpenAPI spec.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Generic, TypeVar

import msgspec
from litestar.dto import AbstractDTO
from litestar.dto.data_structures import DTOFieldDefinition
from litestar.exceptions import ClientException
from litestar.openapi.spec import Reference, Schema
from litestar.typing import FieldDefinition

from api.errors import field_of
from domain.errors import FieldError, InvalidInput

T = TypeVar("T")


class StrictBody(AbstractDTO[T], Generic[T]):
    doc_type: Any = None

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        return None

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        annotation = cls.doc_type or cls.model_type
        schema: Reference | Schema = schema_creator.for_field_definition(
            FieldDefinition.from_annotation(annotation)
        )
        return schema

    def decode_bytes(self, value: bytes) -> Any:
        return decode_strict(value, self.model_type)

    def decode_builtins(self, value: dict[str, Any]) -> Any:
        return msgspec.convert(value, self.model_type, strict=True)


def decode_strict(value: bytes, model_type: Any, *, root: str = "") -> Any:
    try:
        return msgspec.json.decode(value, type=model_type, strict=True)
    except msgspec.ValidationError as exc:
        f = field_of(exc, root=root)
        raise InvalidInput(
            f"{f.field}: {f.message}", [FieldError(field=f.field, message=f.message)]
        ) from None
    except msgspec.DecodeError as exc:
        raise ClientException(f"the request body is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        raise ClientException("the request body is not valid UTF-8") from None
