"""The polished line: Bedrock Converse through botocore's Stubber."""

from __future__ import annotations

import threading
from datetime import timedelta

import boto3
import pytest
from botocore.stub import Stubber
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Send
from app.mail.polish import BedrockPolisher, check_line
from tests.factories import T0, cart_body

PLAIN = "You left a few things in your cart at Maple & Co, and we kept them for you."
ARGS = dict(voice="Warm, a little playful, no exclamation marks.", items=["Linen shirt"],
            saved_link=False, store_name="Maple & Co")


def reply(text, stop="end_turn"):
    return {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": stop, "usage": {"inputTokens": 40, "outputTokens": 20,
                                           "totalTokens": 60},
            "metrics": {"latencyMs": 300}}


@pytest.fixture
def bedrock():
    return boto3.client("bedrock-runtime", region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def expected_request():
    from botocore.stub import ANY

    return {"modelId": "us.anthropic.claude-haiku-4-5-20251001-v1:0", "system": ANY,
            "messages": ANY, "inferenceConfig": {"maxTokens": 80, "temperature": 0.7}}


def test_polish_good_answer_is_used(bedrock):
    good = "Your linen shirt is still folded and waiting for you at Maple & Co."
    with Stubber(bedrock) as stub:
        stub.add_response("converse", reply(good), expected_request())
        assert BedrockPolisher(bedrock).polish(PLAIN, **ARGS) == good
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["ThrottlingException", "ServiceUnavailableException",
                                  "AccessDeniedException", "ValidationException"])
def test_polish_errors_fall_back(bedrock, code):
    with Stubber(bedrock) as stub:
        stub.add_client_error("converse", service_error_code=code, http_status_code=429)
        assert BedrockPolisher(bedrock).polish(PLAIN, **ARGS) is None


@pytest.mark.parametrize("answer", [
    "Come back to https://maple.example/cart for your shirt.",          # URL
    "Your shirt is waiting, and here is 10% off with code SAVE10.",     # invented discount
    "Your shirt misses you. It is lonely. Come back soon.",             # three sentences
    "Your shirt is still here for just £49.",                           # price
    "Write to help@maple.example about your shirt.",                    # email address
    "x" * 161,                                                          # too long
])
def test_polish_invalid_answers_fall_back(bedrock, answer):
    with Stubber(bedrock) as stub:
        stub.add_response("converse", reply(answer))
        assert BedrockPolisher(bedrock).polish(PLAIN, **ARGS) is None


def test_polish_truncated_answer_falls_back(bedrock):
    with Stubber(bedrock) as stub:
        stub.add_response("converse", reply("Your shirt is", stop="max_tokens"))
        assert BedrockPolisher(bedrock).polish(PLAIN, **ARGS) is None


def test_polish_answer_over_budget_falls_back(bedrock):
    ticks = iter([0.0, 3.5])  # the call came back after 3.5 s on a 2 s budget
    with Stubber(bedrock) as stub:
        stub.add_response("converse", reply("Your shirt is still waiting for you."))
        polisher = BedrockPolisher(bedrock, clock=lambda: next(ticks))
        assert polisher.polish(PLAIN, **ARGS) is None


def test_polish_hung_call_is_cut_at_the_deadline():
    release = threading.Event()

    class Hung:
        def converse(self, **kwargs):
            release.wait(5)
            return reply("Too late anyway.")

    try:
        assert BedrockPolisher(Hung(), budget_s=0.05).polish(PLAIN, **ARGS) is None
    finally:
        release.set()


def test_check_line_keeps_numbers_the_input_gave():
    assert check_line("Your 2 shirts are waiting at Maple & Co.", "2 shirts Maple & Co")
    assert check_line("Your 3 shirts are waiting.", "2 shirts") is None


def test_polish_off_when_not_configured():
    assert BedrockPolisher.from_config({}) is None


def test_send_row_records_whether_the_line_was_polished(post_custom, runtime, outbox, bedrock):
    line = "Your linen shirt is still folded and waiting for you."
    with Stubber(bedrock) as stub:
        stub.add_response("converse", reply(line))
        stub.add_client_error("converse", service_error_code="ThrottlingException",
                              http_status_code=429)
        runtime.polisher = BedrockPolisher(bedrock)
        post_custom(cart_body())
        wake_due(runtime, T0 + timedelta(hours=4))
        wake_due(runtime, T0 + timedelta(hours=28))
    first, second = outbox()
    assert line in first.get_body(("plain",)).get_content()
    assert "still saved" in second.get_body(("plain",)).get_content()  # plain line shipped
    with runtime.db.new_session() as session:
        rows = session.scalars(select(Send).order_by(Send.id)).all()
    assert [(s.move, s.result, s.polished) for s in rows] == [
        ("first", "sent", True), ("second", "sent", False)]


SOURCE = f"{PLAIN} Maple & Co {ARGS['voice']} Linen shirt"


@pytest.mark.parametrize("answer", [
    "Enter WELCOMEBACK at checkout for your linen shirt.",             # coupon shape, no digits
    "Your linen shirt is waiting, use SAVE10 today.",                  # code with digits
    "Take fifty percent off your linen shirt today.",                  # spelled-out percent
    "Your linen shirt comes with a free gift today.",                  # offer words
    "Your linen shirt is waiting at a discount.",
    "Save on your linen shirt before it goes.",
    "<b>Your linen shirt</b> is still waiting for you.",               # markup
    "<script>alert(1)</script> Your linen shirt is waiting.",
    "カートに商品が残っています。ぜひ戻ってきてください。",  # two Japanese sentences
    "Ihr Leinenhemd wartet mit zehn Prozent Rabatt auf Sie.",         # German offer
    "Votre chemise en lin vous attend, livraison offerte.",           # French offer
    "Tu camisa de lino te espera con un descuento especial.",         # Spanish offer
    "カートのシャツが送料無料でお待ちしています",                            # Japanese offer
    "Your linen shirt is waiting at maple.shop whenever you are.",    # bare domain
    "Your linen shirt is waiting ＜3",                                # full-width markup
])
def test_polish_refuses_offers_codes_markup_and_sentences_in_any_language(bedrock, answer):
    with Stubber(bedrock) as stub:
        stub.add_response("converse", reply(answer))
        assert BedrockPolisher(bedrock).polish(PLAIN, **ARGS) is None


@pytest.mark.parametrize("answer", [
    "Your linen shirt is still folded and waiting for you at Maple & Co.",
    "カートの中のリネンシャツがお待ちしています。",
    "¿Tu camisa de lino sigue esperándote?",
])
def test_check_line_accepts_plain_warm_lines(answer):
    assert check_line(answer, SOURCE) == answer


def test_check_line_allows_offer_words_the_input_itself_contains():
    assert check_line("Your gift box is still waiting at Gift Box Co.", "Gift Box Co gift box")


def isolated_aws(monkeypatch, tmp_path, **env):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_polish_model_without_region_is_off_with_a_warning(monkeypatch, tmp_path, caplog):
    isolated_aws(monkeypatch, tmp_path, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    config = {"BEDROCK_MODEL_ID": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
              "POLISH_TIMEOUT_MS": 2000}
    assert BedrockPolisher.from_config(config) is None
    assert any(r.levelname == "WARNING" and "no AWS region" in r.getMessage()
               for r in caplog.records)


def test_polish_model_without_credentials_is_off_with_a_warning(monkeypatch, tmp_path, caplog):
    isolated_aws(monkeypatch, tmp_path)
    config = {"BEDROCK_MODEL_ID": "m", "POLISH_TIMEOUT_MS": 2000, "AWS_REGION": "us-east-1"}
    assert BedrockPolisher.from_config(config) is None
    assert any("no AWS credentials" in r.getMessage() for r in caplog.records)


def test_app_starts_with_a_model_id_but_no_region(monkeypatch, tmp_path):
    from app import create_app

    isolated_aws(monkeypatch, tmp_path, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"),
                      "DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "SECRET_KEY": "k",
                      "BEDROCK_MODEL_ID": "m", "AUTO_MIGRATE": False})
    assert app.extensions["cartback"].polisher is None


def test_polish_fully_configured_is_on(monkeypatch, tmp_path):
    isolated_aws(monkeypatch, tmp_path, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    polisher = BedrockPolisher.from_config({"BEDROCK_MODEL_ID": "m", "POLISH_TIMEOUT_MS": 2000,
                                            "AWS_REGION": "eu-central-1"})
    assert polisher is not None and polisher.client.meta.region_name == "eu-central-1"
