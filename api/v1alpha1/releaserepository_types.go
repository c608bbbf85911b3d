package v1alpha1

import (
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReleaseRepositoryKind is the kind of a ReleaseRepository.
const ReleaseRepositoryKind = "ReleaseRepository"

// Keys ramp reads from the Secrets and ConfigMaps a ReleaseRepository names.
const (
	// UsernameKey and PasswordKey are HTTP basic auth in spec.secretRef.
	UsernameKey = "username"
	PasswordKey = "password"
	// TokenKey is an HTTP token in spec.secretRef (sent as the password),
	// the bearer token in spec.prometheus.secretRef, and the shared secret
	// in spec.webhook.secretRef.
	TokenKey = "token"
	// IdentityKey is an SSH private key: push credentials in
	// spec.secretRef, or ramp's signing key in spec.signingKeySecretRef.
	IdentityKey = "identity"
	// KnownHostsKey holds the SSH server's host keys in spec.secretRef.
	KnownHostsKey = "known_hosts"
	// SigningKeyKey is ramp's signing key (armored OpenPGP or OpenSSH
	// private key) in spec.signingKeySecretRef.
	SigningKeyKey = "signing.key"
	// PassphraseKey decrypts the key next to it, when it is protected.
	PassphraseKey = "passphrase"
	// AllowedSignersSuffix and ASCSuffix end the keys of the approvers'
	// Secret or ConfigMap: <group>.allowed_signers and <group>.asc.
	AllowedSignersSuffix = ".allowed_signers"
	ASCSuffix            = ".asc"
	// GuardrailsKey is the key of the guardrails ConfigMap.
	GuardrailsKey = "guardrails.yaml"
)

// ClusterReference names a cluster and the Secret holding its kubeconfig.
type ClusterReference struct {
	// Name is the cluster's name, as rollout specs name it
	// (spec.targets[].cluster, spec.targets[].kustomizations[].cluster).
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`
	Name string `json:"name"`
	// KubeConfig is the Secret (in the ReleaseRepository's namespace)
	// with the kubeconfig, under secretRef.key, or value or value.yaml.
	// +required
	KubeConfig meta.KubeConfigReference `json:"kubeConfig"`
}

// ReleaseRepositorySpec says where a release repository is, how ramp
// authenticates and signs, whose signatures it accepts, where gate
// evidence comes from and which Flux Kustomizations apply the repository.
type ReleaseRepositorySpec struct {
	// URL is the git URL of the release repository: http(s)://, ssh:// or
	// scp-like user@host:path.
	// +required
	// +kubebuilder:validation:Pattern=`^((https?|ssh)://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:).+`
	URL string `json:"url"`

	// Branch is the release branch ramp reads and commits to.
	// +kubebuilder:default=main
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=250
	// +optional
	Branch string `json:"branch,omitempty"`

	// Interval is the time between two reconciles when nothing else
	// triggers one (push webhooks, reconcile requests).
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`

	// Suspend stops reconciling: no fetch, no commit.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// SecretRef names the Secret with the push credentials: username and
	// password, or token, for HTTP(S); identity (an SSH private key),
	// known_hosts and an optional passphrase for SSH.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// SigningKeySecretRef names the Secret with ramp's signing key under
	// signing.key (armored OpenPGP or OpenSSH private key) or identity, and
	// an optional passphrase. Every commit ramp makes is signed with it.
	// +required
	SigningKeySecretRef meta.LocalObjectReference `json:"signingKeySecretRef"`

	// Approvers names the Secret or ConfigMap with the approvers' public
	// keys: <group>.allowed_signers (git's allowed-signers format) and
	// <group>.asc (armored OpenPGP public keys).
	// +optional
	Approvers *Approvers `json:"approvers,omitempty"`

	// Prometheus is where metric and alert gates are queried. Without it
	// those gates are inconclusive and rollouts hold at analysis steps.
	// +optional
	Prometheus *Prometheus `json:"prometheus,omitempty"`

	// Kustomizations are the Flux Kustomizations that apply this
	// repository, for rollouts whose spec names none. A step counts as
	// live once each of them has applied the step's commit. Without any,
	// a step counts as live at its commit time.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	Kustomizations []KustomizationReference `json:"kustomizations,omitempty"`

	// Clusters are the clusters the targets of rollouts with waves live
	// in, besides the one ramp runs in: a target's Kustomization that
	// names a cluster is read (and asked to reconcile) through that
	// cluster's kubeconfig. The same shape as a Flux Kustomization's
	// spec.kubeConfig.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Clusters []ClusterReference `json:"clusters,omitempty"`

	// RequireSignedTip refuses to commit on top of a branch tip whose
	// signature does not verify against ramp's or an approver's key (on by
	// default). Flux verifies only HEAD (spec.verify): a ramp commit on an
	// unsigned tip would carry that tip into the cluster. Put the
	// engineers' keys in a group of the approvers too, or set it to false
	// when the branch is not verified.
	// +optional
	// +kubebuilder:default=true
	RequireSignedTip *bool `json:"requireSignedTip,omitempty"`

	// CommandsRef is a branch where people without push rights to Branch
	// (a protected branch) push their signed commands (Ramp-Approve, …),
	// e.g. ramp/commands. They count after Branch's history, by the same
	// rules; the step commit on Branch names the approval it relied on.
	// +optional
	// +kubebuilder:validation:MaxLength=250
	CommandsRef string `json:"commandsRef,omitempty"`

	// Guardrails are the platform's guardrails for this repository's
	// rollouts, inline: the YAML `ramp --guardrails` reads (weight steps,
	// digests, change ids, signed release starts, engineer groups, which
	// groups may give which command, the freeze calendar and the rules of
	// each risk tier). Errors name spec.guardrails and the line in it. At
	// most one of guardrails and guardrailsRef; with neither, the
	// controller's default (the chart's guardrails value), else ramp's.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Guardrails string `json:"guardrails,omitempty"`

	// GuardrailsRef names a ConfigMap whose guardrails.yaml key holds the
	// platform's guardrails, as spec.guardrails does inline.
	// +optional
	GuardrailsRef *meta.LocalObjectReference `json:"guardrailsRef,omitempty"`

	// Identity is the author and committer of ramp's commits.
	// +optional
	Identity *Identity `json:"identity,omitempty"`

	// Webhook configures the push receiver for this repository.
	// +optional
	Webhook *Webhook `json:"webhook,omitempty"`
}

// Approvers names where the approvers' public keys are. Exactly one of
// the references is set.
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.configMapRef)",message="set exactly one of secretRef or configMapRef"
type Approvers struct {
	// SecretRef names a Secret with <group>.allowed_signers and <group>.asc keys.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`
	// ConfigMapRef names a ConfigMap with <group>.allowed_signers and <group>.asc keys.
	// +optional
	ConfigMapRef *meta.LocalObjectReference `json:"configMapRef,omitempty"`
}

// Prometheus is the server gates are queried on.
type Prometheus struct {
	// Address is the Prometheus base URL, such as http://prometheus.monitoring:9090.
	// +required
	// +kubebuilder:validation:Pattern=`^https?://.+`
	Address string `json:"address"`
	// SecretRef names a Secret whose token key is sent as a bearer token.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`
}

// KustomizationReference names a Flux Kustomization.
type KustomizationReference struct {
	// Name of the Kustomization.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of the Kustomization; the ReleaseRepository's own when empty.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// Identity is a git author.
type Identity struct {
	// Name of the author.
	// +kubebuilder:default=ramp
	// +kubebuilder:validation:MinLength=1
	// +optional
	Name string `json:"name,omitempty"`
	// Email of the author; it is the principal of ramp's own key.
	// +kubebuilder:default="ramp@localhost"
	// +kubebuilder:validation:MinLength=3
	// +optional
	Email string `json:"email,omitempty"`
}

// Webhook configures the push receiver.
type Webhook struct {
	// SecretRef names a Secret whose token key is the shared secret of the
	// git host's push webhook (GitHub and Gitea/Forgejo HMAC key, GitLab token).
	// +required
	SecretRef meta.LocalObjectReference `json:"secretRef"`
}

// ReleaseRepositoryStatus mirrors what git says about the repository's
// rollouts; deleting it loses nothing.
type ReleaseRepositoryStatus struct {
	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions are Ready, Reconciling and Stalled, as Flux uses them.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`

	// LastFetchedRevision is the branch tip ramp last read, as
	// <branch>@sha1:<sha>.
	// +optional
	LastFetchedRevision string `json:"lastFetchedRevision,omitempty"`

	// Progressing counts the rollouts with a release in progress.
	// +optional
	Progressing int `json:"progressing,omitempty"`

	// Rollouts are the states of every rollout of the repository.
	// +optional
	// +listType=map
	// +listMapKey=name
	Rollouts []RolloutStatus `json:"rollouts,omitempty"`
}

// RolloutStatus is one rollout's state as derived from git, and what ramp
// decided in the last reconcile.
type RolloutStatus struct {
	// Name of the rollout (releases/<name>/rollout.yaml).
	Name string `json:"name"`
	// Release is the version being exposed.
	// +optional
	Release string `json:"release,omitempty"`
	// Stable is the version serving stable traffic.
	// +optional
	Stable string `json:"stable,omitempty"`
	// Phase is Stable, Progressing, Paused, Aborted or Promoted.
	// +optional
	Phase string `json:"phase,omitempty"`
	// Step is the 1-based step entered last, of Steps.
	// +optional
	Step int `json:"step,omitempty"`
	// +optional
	Steps int `json:"steps,omitempty"`
	// Weight is the canary's share of traffic in percent.
	// +optional
	Weight int `json:"weight,omitempty"`
	// LastCommit is ramp's last commit for this rollout.
	// +optional
	LastCommit string `json:"lastCommit,omitempty"`
	// Message is the reason of the last decision.
	// +optional
	Message string `json:"message,omitempty"`
	// WaitingFor says what the rollout waits for when it holds.
	// +optional
	WaitingFor string `json:"waitingFor,omitempty"`
	// LastGates are the last verdicts of the current release's gates.
	// +optional
	LastGates []GateStatus `json:"lastGates,omitempty"`
	// Rejected are commands and commits ramp did not accept, with why.
	// +optional
	Rejected []RejectionStatus `json:"rejected,omitempty"`
	// SeparationOfDuties says, while guardrail requireSignedStart is off,
	// that separation of duties was not verified for the release in
	// progress, and why (commits of its start not signed by a trusted key).
	// +optional
	SeparationOfDuties string `json:"separationOfDuties,omitempty"`
}

// GateStatus is one gate's verdict.
type GateStatus struct {
	Name string `json:"name"`
	// Verdict is pass, fail or inconclusive.
	Verdict string `json:"verdict"`
	// Value is the measured value, when there is one.
	// +optional
	Value string `json:"value,omitempty"`
	// Bound is the bound the value was judged against, such as ">=0.995".
	// +optional
	Bound string `json:"bound,omitempty"`
	// Scope is background for a background gate and bake for a bake's;
	// empty for an analysis step's gate.
	// +optional
	Scope string `json:"scope,omitempty"`
}

// RejectionStatus is a command or commit that was not accepted.
type RejectionStatus struct {
	Commit string `json:"commit"`
	// +optional
	Author string `json:"author,omitempty"`
	Reason string `json:"reason"`
}

// ReleaseRepository is a git repository whose rollouts ramp drives: every
// step, verdict and approval is a signed commit in it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rr;releaserepo
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Progressing",type=integer,JSONPath=`.status.progressing`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.lastFetchedRevision`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
type ReleaseRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReleaseRepositorySpec   `json:"spec,omitempty"`
	Status ReleaseRepositoryStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *ReleaseRepository) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *ReleaseRepository) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// GetBranch returns the release branch, main when unset.
func (in *ReleaseRepository) GetBranch() string {
	if in.Spec.Branch == "" {
		return "main"
	}
	return in.Spec.Branch
}

// GetInterval returns the reconcile interval, one minute when unset.
func (in *ReleaseRepository) GetInterval() time.Duration {
	if in.Spec.Interval.Duration <= 0 {
		return time.Minute
	}
	return in.Spec.Interval.Duration
}

// ReleaseRepositoryList is a list of ReleaseRepository.
// +kubebuilder:object:root=true
type ReleaseRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ReleaseRepository `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ReleaseRepository{}, &ReleaseRepositoryList{})
}
