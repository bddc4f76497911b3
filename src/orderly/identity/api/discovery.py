"""What relying parties read: the published signing keys and the OpenID discovery document."""

from typing import Any

from fastapi import APIRouter, Request

from orderly.storage.database import StorageUnavailable
from orderly.web.dependencies import CurrentRuntime
from orderly.web.refusals import refuses

router = APIRouter(tags=["identity"])


@router.get("/.well-known/jwks.json", tags=["health"], responses=refuses(StorageUnavailable))
async def jwks(run: CurrentRuntime) -> dict[str, Any]:
    keys: dict[str, Any] = await run.tokens.keys.published()
    return keys


@router.get("/.well-known/openid-configuration", tags=["health"])
async def discovery(request: Request, run: CurrentRuntime) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "issuer": run.tokens.settings.issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "token_endpoint": f"{base}/api/v1/auth/login",
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["none"],
    }
