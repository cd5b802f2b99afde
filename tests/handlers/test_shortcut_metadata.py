"""The message shortcut carries the message's text to the workflow form through the modal's
private_metadata, which Slack caps at 3000 characters: a long message in a non-Latin script
(or full of emoji) still opens the modal, and the form starts with as much of it as fits."""

from __future__ import annotations

import json

from handlers import workflows
from handlers.views import forms
from tests.harness import running_trellis
from tests.workflow_helpers import copy_demo, modal_for

SAM = "sam.ortiz@northwind.example"  # support: may start customer replies, and here discounts
CYRILLIC = "Клиент спрашивает, можно ли вернуть палатку через сорок пять дней. " * 30 + "🏕️" * 40


def test_the_metadata_fits_whatever_the_script_and_keeps_the_start_of_the_text():
    meta = forms.metadata_with_text({"channel_id": "C1", "thread_ts": "1.2"}, CYRILLIC)
    assert len(meta) <= forms.METADATA_LIMIT
    assert len(meta.encode("utf-16-le")) // 2 <= forms.METADATA_LIMIT
    kept = json.loads(meta)["text"]
    assert len(kept) > 2000 and CYRILLIC.startswith(kept)
    short = json.loads(forms.metadata_with_text({"channel_id": "C1"}, "Привет 👋"))
    assert short == {"channel_id": "C1", "text": "Привет 👋"}


async def test_the_shortcut_on_a_long_cyrillic_message_opens_the_choice_and_prefills_the_form(
    tmp_path,
):
    workspace = copy_demo(tmp_path, {"started_by: [sales]": "started_by: [sales, support]"})
    async with running_trellis(tmp_path, workspace=workspace) as trellis:
        sam, support = trellis.user(SAM), trellis.channel("support")
        ts = await trellis.sandbox.post_message(sam, support, CYRILLIC)

        await trellis.sandbox.message_shortcut(sam, support, ts, "trellis_start_workflow")
        choice = await modal_for(trellis, SAM)
        assert choice.spec["callback_id"] == forms.CHOOSE_VIEW
        assert len(choice.spec["private_metadata"]) <= forms.METADATA_LIMIT

        ack = await trellis.sandbox.submit_view(
            sam, choice.id, {"workflow": {"choice": "customer_reply"}}
        )
        assert ack.get("response_action") == "update"
        form = await modal_for(trellis, SAM)
        question = next(b for b in form.spec["blocks"] if b.get("block_id") == "question")
        prefilled = question["element"]["initial_value"]
        assert len(prefilled) > 2000 and CYRILLIC.startswith(prefilled)


async def test_a_message_longer_than_a_text_box_opens_the_form_with_its_start_and_says_so(tmp_path):
    # Slack refuses a text box holding more than 3,000 characters, so the form would never
    # open and asking again could not help: it starts with what fits, and says so.
    workspace = copy_demo(tmp_path, {"started_by: [sales]": "started_by: [sales, support]"})
    long = "The customer asks whether the tent can be returned after 45 days. " * 70
    async with running_trellis(tmp_path, workspace=workspace) as trellis:
        await trellis.sandbox.slash_command(
            trellis.user(SAM),
            trellis.channel("support"),
            "/trellis",
            f'customer_reply question="{long}"',
        )
        form = await modal_for(trellis, SAM)
        question = next(b for b in form.spec["blocks"] if b.get("block_id") == "question")
        assert question["element"]["initial_value"] == long[: forms.TEXT_INPUT_LIMIT]
        assert question["element"]["max_length"] == forms.TEXT_INPUT_LIMIT
        assert question["hint"]["text"] == forms.PREFILL_CUT


async def test_a_colleague_mentioned_in_the_message_is_named_in_the_form(tmp_path, monkeypatch):
    # The look-up is bounded by Slack's trigger; a loaded test machine gets more time.
    monkeypatch.setattr(workflows, "SHORTCUT_NAMING_SECONDS", 5.0)
    workspace = copy_demo(tmp_path, {"started_by: [sales]": "started_by: [sales, support]"})
    async with running_trellis(tmp_path, workspace=workspace) as trellis:
        sam, support = trellis.user(SAM), trellis.channel("support")
        liam = trellis.user("liam.carter@northwind.example")
        ts = await trellis.sandbox.post_message(
            sam, support, f"<@{liam}> promised the customer a refund by Friday"
        )
        await trellis.sandbox.message_shortcut(sam, support, ts, "trellis_start_workflow")
        choice = await modal_for(trellis, SAM)
        await trellis.sandbox.submit_view(
            sam, choice.id, {"workflow": {"choice": "customer_reply"}}
        )
        form = await modal_for(trellis, SAM)
        question = next(b for b in form.spec["blocks"] if b.get("block_id") == "question")
        assert question["element"]["initial_value"] == (
            "@Liam Carter promised the customer a refund by Friday"
        )
