"""Identity data: 身份证号 / 统一社会信用代码 / 手机号 validation, 脱敏 masking, field encryption."""

from backend.identity.crypto import DecryptionError, DerivedKeys, FieldCipher, LookupHasher, derive_keys
from backend.identity.idcard import (
    ID_CHECK_CHARS,
    ID_WEIGHTS,
    PROVINCE_CODES,
    ResidentId,
    compute_check_digit,
    is_valid_id_number,
    normalize_id_number,
    parse_id_number,
)
from backend.identity.masking import mask_id_number, mask_name, mask_phone, mask_uscc
from backend.identity.phone import normalize_mobile
from backend.identity.uscc import (
    ORG_CODE_WEIGHTS,
    REGISTRATION_AUTHORITY_CODES,
    USCC_CHARSET,
    USCC_WEIGHTS,
    compute_org_code_check_char,
    compute_uscc_check_char,
    is_valid_uscc,
    normalize_uscc,
    parse_uscc,
)

__all__ = [
    "DecryptionError",
    "DerivedKeys",
    "FieldCipher",
    "ID_CHECK_CHARS",
    "ID_WEIGHTS",
    "LookupHasher",
    "ORG_CODE_WEIGHTS",
    "PROVINCE_CODES",
    "REGISTRATION_AUTHORITY_CODES",
    "ResidentId",
    "USCC_CHARSET",
    "USCC_WEIGHTS",
    "compute_check_digit",
    "compute_org_code_check_char",
    "compute_uscc_check_char",
    "derive_keys",
    "is_valid_id_number",
    "is_valid_uscc",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "mask_uscc",
    "normalize_id_number",
    "normalize_mobile",
    "normalize_uscc",
    "parse_id_number",
    "parse_uscc",
]
