"""Prints, as JSON, the environment `sam local invoke FUNCTION --env-vars ENV_FILE` gives the
function: SAM's own code (samcli, from the SAM CLI's venv) resolves the template (a parameter's
default, a resource's logical id for its `!Ref`) and applies the env file as SAM does — its
"Parameters" section, then the function's own — to the variables the template declares only:
a variable the template does not declare is dropped without a word, as `sam local invoke`
drops it.

check_built.py runs it with the SAM CLI's Python (.venv/sam/bin/python), so that what the
READMEs promise for `sam local invoke` is checked with what SAM would hand the function.
Usage: sam_env.py TEMPLATE ENV_FILE FUNCTION
"""

import json
import sys
import types

from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: sam_env.py TEMPLATE ENV_FILE FUNCTION")
    template, env_file, name = sys.argv[1:]
    stacks, _ = SamLocalStackProvider.get_stacks(template_file=template)
    function = SamFunctionProvider(stacks).get(name)
    if function is None:
        sys.exit(f"{template}: no function {name}")
    with open(env_file, encoding="utf-8") as file:
        overrides = json.load(file)
    # The runner's own method, on the two attributes it reads (no Docker, no AWS session: the
    # AWS_* credentials are SAM's placeholders, which the harness replaces anyway).
    runner = types.SimpleNamespace(env_vars_values=overrides, get_aws_creds=lambda: {},
                                   is_debugging=lambda: False)
    print(json.dumps(LocalLambdaRunner._make_env_vars(runner, function).resolve(), indent=1))


if __name__ == "__main__":
    main()
