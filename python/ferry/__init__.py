"""ferry: the Python client of a ferry server (datasets, features, tracking, registry,
serving). Standard library only; pandas, numpy and xgboost are used when present.

    import ferry
    client = ferry.Client("http://127.0.0.1:8080", token=...)
    with client.start_run(experiment="fraud") as run:
        run.log_param("max_depth", 3)
        run.log_metric("auc", 0.93, step=1)
"""

__version__ = "0.1.0"

from .client import Client  # noqa: E402
from .errors import (  # noqa: E402
    AlreadyExists, ApiError, BadRequest, Conflict, FailedPrecondition, FerryConnectionError,
    FerryError, FerryTimeout, IntegrityError, NotFound, PayloadTooLarge, PermissionDenied,
    RateLimited, ServerError, Unauthenticated, Unavailable)
from .features import OnlineFeatures  # noqa: E402
from .pipelines import PipelineRunFailed  # noqa: E402
from .serving import DeploymentFailed, InferResult, Prediction  # noqa: E402
from .tracking import ActiveRun  # noqa: E402

__all__ = [
    "Client", "ActiveRun", "OnlineFeatures", "PipelineRunFailed", "Prediction", "InferResult",
    "DeploymentFailed",
    "FerryError", "FerryConnectionError", "FerryTimeout", "IntegrityError", "ApiError",
    "BadRequest", "Unauthenticated", "PermissionDenied", "NotFound", "Conflict",
    "AlreadyExists", "FailedPrecondition", "PayloadTooLarge", "RateLimited", "ServerError",
    "Unavailable", "__version__",
]
