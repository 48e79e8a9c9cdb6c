import factory
from allauth.account.models import EmailAddress

from accounts.models import Membership, Organization, Role, User
from clusters.models import Cluster, KubernetesRelease, NodePool

TEST_PASSWORD = "correct horse battery staple"  # noqa: S105


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: bool | None, **kwargs) -> None:
        """Users sign in with a verified address unless a test says otherwise."""
        self.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.MEMBER


class KubernetesReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KubernetesRelease
        django_get_or_create = ["version"]

    version = "1.31.4"
    is_default = True


class ClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cluster

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"cluster-{n}")
    region = "eu-central-1"
    availability_zones = factory.LazyFunction(lambda: ["eu-central-1a", "eu-central-1b"])
    release = factory.SubFactory(KubernetesReleaseFactory)
    vpc_cidr = factory.Sequence(lambda n: f"10.{n % 250}.0.0/16")


class NodePoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NodePool

    cluster = factory.SubFactory(ClusterFactory)
    name = "default"
    instance_type = "m5.xlarge"
    min_size = 3
    max_size = 3
    desired_size = 3


# --- catalog, ledger records and events (catalog, ui) ---------------------------------------
from decimal import Decimal  # noqa: E402

from clusters.models import Event, InstanceType, ResourceRecord  # noqa: E402


class InstanceTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InstanceType
        django_get_or_create = ["name"]

    name = "m5.xlarge"
    vcpus = 4
    memory_mib = 16384
    architecture = "x86_64"
    regions = factory.LazyFunction(lambda: ["eu-central-1", "eu-west-1"])
    hourly_price_usd = Decimal("0.2300")
    price_source = "test"
    is_recommended = True

# --- monitoring -------------------------------------------------------------------------------

from monitoring.models import Alert, NotificationChannel  # noqa: E402


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    cluster = factory.SubFactory(ClusterFactory)
    organization = factory.LazyAttribute(lambda a: a.cluster.organization)
    fingerprint = factory.Sequence(lambda n: f"test:{n}")
    summary = factory.Sequence(lambda n: f"Something is wrong #{n}")
    severity = Alert.Severity.WARNING


class NotificationChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationChannel

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"channel-{n}")
    kind = NotificationChannel.Kind.EMAIL
    email_addresses = factory.LazyFunction(lambda: ["oncall@acme.test"])


class ResourceRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResourceRecord

    cluster = factory.SubFactory(ClusterFactory)
    key = factory.Sequence(lambda n: f"thing/{n}")
    kind = "vpc"
    aws_id = factory.Sequence(lambda n: f"vpc-{n:08x}")
    step = "network"


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    cluster = factory.SubFactory(ClusterFactory)
    organization = factory.LazyAttribute(lambda e: e.cluster.organization)
    kind = Event.Kind.STEP
    message = factory.Sequence(lambda n: f"Step {n} done")
