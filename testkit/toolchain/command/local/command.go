// Package local is command:local: the Command resource and its Logging enum.
package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Logging is command:local:Logging: which of the command's streams go to the Pulumi log.
type Logging string

const (
	LogStdout          Logging = "stdout"
	LogStderr          Logging = "stderr"
	LogStdoutAndStderr Logging = "stdoutAndStderr"
	LogNone            Logging = "none"
)

func (Logging) Values() []infer.EnumValue[Logging] {
	return []infer.EnumValue[Logging]{
		{Name: "Stdout", Value: LogStdout, Description: "Capture stdout in logs but not stderr"},
		{Name: "Stderr", Value: LogStderr, Description: "Capture stderr in logs but not stdout"},
		{Name: "StdoutAndStderr", Value: LogStdoutAndStderr, Description: "Capture stdout and stderr in logs"},
		{Name: "None", Value: LogNone, Description: "Capture no logs"},
	}
}

type CommandInputs struct {
	Interpreter            *[]string          `pulumi:"interpreter,optional"`
	Dir                    *string            `pulumi:"dir,optional"`
	Environment            *map[string]string `pulumi:"environment,optional"`
	Stdin                  *string            `pulumi:"stdin,optional"`
	AssetPaths             *[]string          `pulumi:"assetPaths,optional"`
	ArchivePaths           *[]string          `pulumi:"archivePaths,optional"`
	AddPreviousOutputInEnv *bool              `pulumi:"addPreviousOutputInEnv,optional"`
	Triggers               *[]any             `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create                 *string            `pulumi:"create,optional"`
	Delete                 *string            `pulumi:"delete,optional"`
	Update                 *string            `pulumi:"update,optional"`
	Logging                *Logging           `pulumi:"logging,optional"`
}

func (c *CommandInputs) Annotate(a infer.Annotator) {
	a.SetDefault(&c.AddPreviousOutputInEnv, true)
}

type CommandOutputs struct {
	CommandInputs
	Stdout  string                      `pulumi:"stdout"`
	Stderr  string                      `pulumi:"stderr"`
	Assets  *map[string]*resource.Asset `pulumi:"assets,optional"`
	Archive *resource.Archive           `pulumi:"archive,optional"`
}

// Command is command:local:Command; the Go package name gives the module (pulumi-go-provider's
// introspect.GetToken), as in pulumi-command.
type Command struct{}

// WireDependencies makes every output depend on every input: a secret anywhere in the inputs (a token in
// `environment`) makes stdout and stderr secret too, and an unknown input leaves them unknown in a preview.
func (Command) WireDependencies(f infer.FieldSelector, args *CommandInputs, state *CommandOutputs) {
	f.OutputField(state).DependsOn(f.InputField(args))
}

func (Command) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[CommandInputs], error) {
	inputs, failures, err := infer.DefaultCheck[CommandInputs](ctx, req.NewInputs)
	if err != nil {
		return infer.CheckResponse[CommandInputs]{}, err
	}
	for _, unsupported := range []string{"assetPaths", "archivePaths"} {
		if _, set := req.NewInputs.GetOk(unsupported); set {
			failures = append(failures, p.CheckFailure{
				Property: unsupported,
				Reason:   "not supported by the test toolchain's command provider (nothing here collects files)",
			})
		}
	}
	return infer.CheckResponse[CommandInputs]{Inputs: inputs, Failures: failures}, nil
}

func (Command) Create(
	ctx context.Context, req infer.CreateRequest[CommandInputs],
) (infer.CreateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs}
	id, err := resource.NewUniqueHex(req.Name, 8, 0)
	if err != nil || req.DryRun || req.Inputs.Create == nil {
		return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, err
	}
	err = run(ctx, *req.Inputs.Create, &state)
	return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, err
}

func (Command) Update(
	ctx context.Context, req infer.UpdateRequest[CommandInputs, CommandOutputs],
) (infer.UpdateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs, Stdout: req.State.Stdout, Stderr: req.State.Stderr}
	command := req.Inputs.Create
	if req.Inputs.Update != nil {
		command = req.Inputs.Update
	}
	if req.DryRun || command == nil {
		return infer.UpdateResponse[CommandOutputs]{Output: state}, nil
	}
	err := run(ctx, *command, &state)
	return infer.UpdateResponse[CommandOutputs]{Output: state}, err
}

func (Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandOutputs]) (infer.DeleteResponse, error) {
	if req.State.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	state := req.State
	return infer.DeleteResponse{}, run(ctx, *req.State.Delete, &state)
}

// run executes one command and records its output in state, as commandOutputs.go's run does.
func run(ctx context.Context, command string, state *CommandOutputs) error {
	in := state.CommandInputs
	args := []string{"/bin/sh", "-c"}
	if in.Interpreter != nil && len(*in.Interpreter) > 0 {
		args = append([]string{}, *in.Interpreter...)
	}
	args = append(args, command)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stdout, stderr bytes.Buffer
	both := &locked{}
	cmd.Stdout = &multi{&stdout, both}
	cmd.Stderr = &multi{&stderr, both}
	if in.Dir != nil {
		cmd.Dir = *in.Dir
	}
	cmd.Env = os.Environ()
	if in.Environment != nil {
		for key, value := range *in.Environment {
			cmd.Env = append(cmd.Env, key+"="+value)
		}
	}
	if in.AddPreviousOutputInEnv == nil || *in.AddPreviousOutputInEnv {
		if state.Stdout != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDOUT="+state.Stdout)
		}
		if state.Stderr != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDERR="+state.Stderr)
		}
	}
	if in.Stdin != nil && *in.Stdin != "" {
		cmd.Stdin = strings.NewReader(*in.Stdin)
	}
	err := cmd.Run()
	logOutput(ctx, in.Logging, stdout.String(), stderr.String())
	if err != nil {
		return fmt.Errorf("%w: running %q:\n%s", err, command, both.buf.String())
	}
	state.Stdout = strings.TrimSuffix(stdout.String(), "\n")
	state.Stderr = strings.TrimSuffix(stderr.String(), "\n")
	return nil
}

// multi copies a stream into its own buffer and the interleaved one the error message shows; exec.Cmd
// copies each stream in its own goroutine, so the shared buffer needs the lock.
type multi struct {
	own  *bytes.Buffer
	both *locked
}

func (m *multi) Write(b []byte) (int, error) {
	m.both.write(b)
	return m.own.Write(b)
}

type locked struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *locked) write(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
}

func logOutput(ctx context.Context, logging *Logging, stdout, stderr string) {
	mode := LogStdoutAndStderr
	if logging != nil {
		mode = *logging
	}
	logger := p.GetLogger(ctx)
	if (mode == LogStdout || mode == LogStdoutAndStderr) && stdout != "" {
		logger.Info(stdout)
	}
	if (mode == LogStderr || mode == LogStdoutAndStderr) && stderr != "" {
		logger.Info(stderr)
	}
}
