.PHONY: test demo lint bench

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

lint:
	.venv/bin/ruff check .
	.venv/bin/mypy saleor_sms_plugin
