"""`make deploy` stops with one clear sentence, before doing anything, when
sam, the AWS CLI or AWS credentials are missing. Run by `make lint-template`.
(What it derives from the stack's outputs is tested in afterhours-admin.)
"""
import os
import stat
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "infra", "scripts", "deploy.sh")


def stub(folder, name, body):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + f'echo "{name} $*" >> "{folder}/calls"\n' + body + "\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


class Deploy(unittest.TestCase):
    def run_deploy(self, tools):
        with tempfile.TemporaryDirectory() as bin_dir:
            for name, body in tools.items():
                stub(bin_dir, name, body)
            # Only the stubs and the system's basics: no real sam or aws.
            for tool in ("bash", "sed", "head", "tail", "python3", "cat", "mkdir", "dirname", "tr", "wc"):
                real = subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
                if real and not os.path.exists(os.path.join(bin_dir, tool)):
                    os.symlink(real, os.path.join(bin_dir, tool))
            env = {"PATH": bin_dir, "HOME": os.environ.get("HOME", "/root")}
            r = subprocess.run([os.path.join(bin_dir, "bash"), SCRIPT], env=env, capture_output=True, text=True, timeout=60)
            log = os.path.join(bin_dir, "calls")
            calls = []
            if os.path.exists(log):
                with open(log) as f:
                    calls = f.read().splitlines()
        return r, calls

    def test_without_sam_it_stops_and_says_so(self):
        r, calls = self.run_deploy({"aws": "exit 0"})
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip().splitlines(), [
            "make deploy: the AWS SAM CLI (sam) is not installed; install it (pip install aws-sam-cli) and run make deploy again."])
        self.assertEqual(calls, [])

    def test_without_the_aws_cli_it_stops_and_says_so(self):
        r, calls = self.run_deploy({"sam": "exit 0"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("the AWS CLI (aws) is not installed", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertEqual(calls, [])

    def test_without_credentials_it_stops_before_building_or_deploying(self):
        r, calls = self.run_deploy({
            "sam": "exit 0",
            "aws": 'echo "Unable to locate credentials. You can configure credentials by running \\"aws configure\\"." >&2; exit 253',
        })
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("make deploy: no usable AWS credentials (Unable to locate credentials."), lines)
        self.assertTrue(lines[0].endswith("configure them (aws configure, or AWS_PROFILE) and run make deploy again."), lines)
        # Only the identity check ran: no build, no sam, no upload.
        self.assertEqual(calls, ["aws sts get-caller-identity --query Account --output text"])
        self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()
