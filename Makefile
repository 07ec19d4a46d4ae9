.PHONY: test demo lint bench

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

lint:
	.venv/bin/ruff check saleor_sms_plugin tests bench
	.venv/bin/mypy saleor_sms_plugin
