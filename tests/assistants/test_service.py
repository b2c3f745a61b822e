"""An assistant talks to its registry llm model's active version unless it pins one, and is
refused an internal base URL unless local model servers are allowed."""

from __future__ import annotations

import pytest

from helios.assistants import service
from helios.assistants.schemas import AssistantConfigUpdate, AssistantCreate, AssistantUpdate
from helios.core.auth import LOCAL_USER
from helios.core.errors import InvalidInput
from helios.registry import deployments
from helios.registry import service as registry
from helios.registry.schemas import LlmConfig, ModelCreate


def test_the_provider_follows_the_active_version_unless_pinned(context) -> None:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        service.update_config(session, AssistantConfigUpdate(allow_local_model_servers=True), LOCAL_USER)
        first = LlmConfig(base_url="http://127.0.0.1:8001/v1", model_name="small")
        model = registry.create_model(
            session, ModelCreate(name="llm", kind="llm", task="chat", llm=first), LOCAL_USER
        )
        registry.add_llm_version(
            session, model, LlmConfig(base_url="http://127.0.0.1:8002/v1", model_name="big"), LOCAL_USER
        )
        deployments.deploy(session, "llm", 1, "active", "", LOCAL_USER)
        assistant = service.create_assistant(
            session, AssistantCreate(name="a", role="analyst", llm_model="llm"), LOCAL_USER
        )
        assert service.provider_for(session, assistant).model_name == "small"
        deployments.deploy(session, "llm", 2, "active", "", LOCAL_USER)
        assert service.provider_for(session, assistant).model_name == "big"
        service.update_assistant(session, assistant, AssistantUpdate(llm_version=1), LOCAL_USER)
        assert service.provider_for(session, assistant).base_url == "http://127.0.0.1:8001/v1"
        service.update_config(session, AssistantConfigUpdate(allow_local_model_servers=False), LOCAL_USER)
        assert service.provider_for(session, assistant).allow_local is False
        with pytest.raises(InvalidInput, match="internal address 127.0.0.1"):
            service.update_assistant(session, assistant, AssistantUpdate(llm_version=2), LOCAL_USER)


INJECTED_LABELS = [
    'x" innerHTML="<img src=x onerror=alert(1)>',
    "x onclick=alert(1)",
    "<script>",
    "staging\n",
]


def test_a_label_that_is_not_a_label_is_refused_on_every_path(context) -> None:  # type: ignore[no-untyped-def]
    """The page and the local CLI move labels through the service, not the API's checked path: a label
    like 'x" innerHTML="<img onerror=...>' reached every viewer's assistant page through a parsed
    props string. It is refused here, naming the field, and nothing is stored."""
    from helios.assistants import prompts
    from helios.assistants.schemas import PromptVersionCreate

    with context.db.transaction() as session:
        body = AssistantCreate(name="scribe", role="analyst")
        assistant = service.create_assistant(session, body, LOCAL_USER)
        service.save_version(session, assistant, PromptVersionCreate(system_prompt="Be brief."), LOCAL_USER)
        for label in INJECTED_LABELS:
            with pytest.raises(InvalidInput, match="is not a label") as refused:
                service.move_label(session, assistant, label, 1, LOCAL_USER)
            assert refused.value.errors[0]["field"] == "label"
        assert prompts.labels_of(session, [assistant.id]) == {assistant.id: {}}
        service.move_label(session, assistant, "staging", 1, LOCAL_USER)
        assert prompts.labels_of(session, [assistant.id]) == {assistant.id: {"staging": 1}}
