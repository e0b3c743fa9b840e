"""The template, expanded by the SAM translator (it ships with cfn-lint), keeps
its security-relevant properties. Run by `make lint-template`:

    .venv/bin/python -m unittest discover -s infra/tests
"""
import json
import os

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
import unittest

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class NoManagedPolicies:
    """The template uses inline policies only; nothing to look up in IAM."""

    def load(self):
        return {}


def expand():
    with open(os.path.join(ROOT, "template.yaml")) as f:
        source = yaml_parse(f.read())
    packaged = json.loads(json.dumps(source))
    for r in packaged["Resources"].values():
        # What `sam build`/`sam deploy` put there: the built code in S3.
        if r["Type"] == "AWS::Serverless::Function":
            r["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    return source, transform(packaged, {"AWS::Region": "eu-west-1"}, NoManagedPolicies())["Resources"]


def of_type(resources, kind):
    return {k: v for k, v in resources.items() if v["Type"] == kind}


class Template(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.source, cls.res = expand()

    def props(self, name):
        return self.res[name]["Properties"]

    def test_no_app_client_can_write_the_tenant(self):
        client = self.props("UserPoolClient")
        self.assertIn("custom:tenant_id", client["ReadAttributes"])
        self.assertNotIn("custom:tenant_id", client["WriteAttributes"])
        self.assertEqual(len(of_type(self.res, "AWS::Cognito::UserPoolClient")), 1)
        self.assertFalse(client["GenerateSecret"])
        self.assertEqual(client["AllowedOAuthFlows"], ["code"])
        self.assertEqual(client["TokenValidityUnits"]["RefreshToken"], "hours")
        self.assertGreaterEqual(client["RefreshTokenValidity"], 12)
        desk = {"Fn::Sub": "https://${DeskDistribution.DomainName}/"}
        self.assertEqual((client["CallbackURLs"], client["LogoutURLs"]), ([desk], [desk]))

    def test_only_the_operator_creates_users_and_the_roles_are_groups(self):
        pool = self.props("UserPool")
        self.assertTrue(pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"])
        self.assertEqual(pool["UsernameAttributes"], ["email"])
        self.assertIn("tenant_id", [a["Name"] for a in pool["Schema"]])
        groups = sorted(g["Properties"]["GroupName"] for g in of_type(self.res, "AWS::Cognito::UserPoolGroup").values())
        self.assertEqual(groups, ["admin", "agent", "supervisor"])
        for name in ("UserPool", "UserPoolClient", "UserPoolDomain", "AdminGroup"):
            self.assertEqual(self.res[name]["Condition"], "CreateUserPool", name)

    def test_the_desk_bucket_is_private_and_tls_only(self):
        bucket = self.props("DeskBucket")
        self.assertEqual(set(bucket["PublicAccessBlockConfiguration"].values()), {True})
        self.assertEqual(len(bucket["PublicAccessBlockConfiguration"]), 4)
        self.assertNotIn("WebsiteConfiguration", bucket)
        statements = self.props("DeskBucketPolicy")["PolicyDocument"]["Statement"]
        deny = [s for s in statements if s["Effect"] == "Deny"]
        self.assertEqual(deny[0]["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
        allow = [s for s in statements if s["Effect"] == "Allow"]
        self.assertEqual(len(allow), 1)
        self.assertEqual(allow[0]["Principal"], {"Service": "cloudfront.amazonaws.com"})
        self.assertEqual(allow[0]["Action"], "s3:GetObject")
        self.assertIn("AWS:SourceArn", allow[0]["Condition"]["StringEquals"])

    def test_cloudfront_reads_through_origin_access_control_with_the_headers_policy(self):
        config = self.props("DeskDistribution")["DistributionConfig"]
        origin = config["Origins"][0]
        self.assertEqual(origin["OriginAccessControlId"], {"Fn::GetAtt": ["DeskOriginAccessControl", "Id"]})
        self.assertEqual(origin["S3OriginConfig"]["OriginAccessIdentity"], "")
        behaviour = config["DefaultCacheBehavior"]
        self.assertEqual(behaviour["ViewerProtocolPolicy"], "redirect-to-https")
        self.assertEqual(behaviour["ResponseHeadersPolicyId"], {"Ref": "DeskHeadersPolicy"})
        self.assertEqual(self.props("DeskOriginAccessControl")["OriginAccessControlConfig"]["SigningBehavior"], "always")

    def test_the_headers_policy_sets_csp_hsts_nosniff_and_referrer(self):
        headers = self.props("DeskHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"][0]
        for directive in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
            self.assertIn(directive, csp)
        self.assertIn("connect-src 'self' https://*.execute-api.${AWS::Region}", csp)
        self.assertIn("${SignIn}", csp.split("connect-src")[1].split(";")[0])
        self.assertNotIn("unsafe-inline", csp)
        self.assertTrue(headers["ContentTypeOptions"]["Override"])
        self.assertGreaterEqual(headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"], 31536000)
        self.assertEqual(headers["ReferrerPolicy"]["ReferrerPolicy"], "no-referrer")
        self.assertEqual(headers["FrameOptions"]["FrameOption"], "DENY")

    def test_the_api_trusts_the_created_pool_unless_one_is_given(self):
        api = of_type(self.res, "AWS::ApiGatewayV2::Api")
        body = json.dumps(next(iter(api.values()))["Properties"]["Body"])
        self.assertIn('"Fn::If": ["CreateUserPool"', body)
        self.assertIn('"Ref": "UserPoolClient"', body)
        cors = next(iter(api.values()))["Properties"]["Body"]["x-amazon-apigateway-cors"]["allowOrigins"]
        # (the translator fills the parameter's default in the first branch)
        self.assertEqual(len(cors), 1)
        self.assertEqual(cors[0]["Fn::If"][0], "HasDeskOrigin")
        self.assertEqual(cors[0]["Fn::If"][2], {"Fn::Sub": "https://${DeskDistribution.DomainName}"})
        paths = next(iter(api.values()))["Properties"]["Body"]["paths"]
        self.assertIn("delete", paths["/channels/{phoneNumberId}"])

    def test_the_webhook_is_throttled_and_its_concurrency_can_be_capped(self):
        stage = next(iter(of_type(self.res, "AWS::ApiGatewayV2::Stage").values()))["Properties"]
        self.assertEqual(stage["RouteSettings"]["POST /webhook"]["ThrottlingRateLimit"], {"Ref": "WebhookThrottlingRateLimit"})
        self.assertEqual(stage["DefaultRouteSettings"]["ThrottlingRateLimit"], {"Ref": "ApiThrottlingRateLimit"})
        webhook = self.props("WebhookFunction")
        self.assertEqual(webhook["ReservedConcurrentExecutions"]["Fn::If"][0], "HasWebhookConcurrency")
        alarm = self.props("WebhookRejectedAlarm")
        self.assertEqual((alarm["Namespace"], alarm["MetricName"]), ("Afterhours", "WebhookRejected"))

    def test_every_function_gets_the_secrets_extension_for_its_region(self):
        functions = of_type(self.res, "AWS::Lambda::Function")
        self.assertEqual(len(functions), 5)
        for name, f in functions.items():
            layer = f["Properties"]["Layers"][0]["Fn::If"]
            self.assertEqual(layer[0], "HasLayerArn", name)
            self.assertEqual(layer[2], {"Fn::FindInMap": ["SecretsExtensionLayer", {"Ref": "AWS::Region"}, "Arm64"]})
        mapping = self.source["Mappings"]["SecretsExtensionLayer"]
        for region, arns in mapping.items():
            self.assertRegex(arns["Arm64"], rf"^arn:aws:lambda:{region}:\d{{12}}:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:\d+$")
        self.assertIn("us-east-1", mapping)
        self.assertIn("sa-east-1", mapping)

    def test_meta_secrets_are_created_for_the_operator_and_outputs_name_them(self):
        for name, cond in (("AppSecret", "CreateAppSecret"), ("WhatsAppToken", "CreateWhatsAppToken")):
            self.assertEqual(self.res[name]["Condition"], cond)
            self.assertTrue(self.props(name)["SecretString"].startswith("set-me"))
        for name in ("VerifyToken", "CursorSecret"):
            self.assertIn("GenerateSecretString", self.props(name))
        outputs = self.source["Outputs"]
        for key in ("DeskUrl", "ApiUrl", "WebhookUrl", "UserPoolId", "UserPoolClientId", "HostedUiDomain",
                    "AppSecretArn", "VerifyTokenArn", "WhatsAppTokenArn", "CursorSecretArn", "DeskBucketName",
                    "DeskDistributionId", "TableName"):
            self.assertIn(key, outputs)


if __name__ == "__main__":
    unittest.main()


class FunctionPermissions(unittest.TestCase):
    """Each function's role allows what its code calls, on the indexes it reads."""

    @classmethod
    def setUpClass(cls):
        cls.source, cls.res = expand()

    def allowed(self, function):
        role = self.res[f"{function}Role"]["Properties"]
        out = []
        for policy in role.get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                out += [(a, json.dumps(r)) for a in actions for r in resources]
        return out

    def test_the_contacts_function_marks_handled_and_counts_pending_callbacks(self):
        allowed = self.allowed("ContactsFunction")
        self.assertIn(("dynamodb:UpdateItem", json.dumps({"Fn::GetAtt": ["Table", "Arn"]})), allowed)
        for index in ("LSI1", "GSI1"):
            self.assertTrue(any(a == "dynamodb:Query" and f"index/{index}" in r for a, r in allowed), index)
