import type { JsonValue, PendingInput, Run } from '@skreaver/contracts';
import type { ResumeRunRequest } from '@skreaver/sdk';
import { useState } from 'react';
import type { ReactElement } from 'react';

import { onSubmit } from '../components';
import { newIdempotencyKey, parseJson, pretty, useConsole } from '../console-context';
import { collect, fieldsOf, initialValues, planForm } from './schema-form';
import type { Field, FieldValues, FormPlan } from './schema-form';

/** One field of a pending input's form, with its label, hint and error tied to it for screen readers. */
function FieldInput({ id, field, value, error, onChange }: { id: string; field: Field; value: string | boolean; error?: string; onChange: (value: string | boolean) => void }): ReactElement {
  const hint = [field.description, field.required ? undefined : 'optional'].filter(Boolean).join(' · ');
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, name: field.name || 'answer', 'aria-describedby': described, 'aria-invalid': error ? true : undefined };
  let control: ReactElement;
  if (field.kind === 'boolean') {
    control = <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  } else if (field.kind === 'enum') {
    control = (
      <select {...common} required={field.required} value={String(value)} onChange={(e) => onChange(e.target.value)}>
        <option value="">{field.required ? 'choose…' : '(none)'}</option>
        {(field.options ?? []).map((option, index) => (
          <option key={index} value={String(index)}>
            {typeof option === 'string' ? option : JSON.stringify(option)}
          </option>
        ))}
      </select>
    );
  } else {
    const numeric = field.kind !== 'string';
    control = (
      <input
        {...common}
        type={numeric ? 'number' : 'text'}
        step={field.kind === 'integer' ? 1 : numeric ? 'any' : undefined}
        min={field.minimum}
        max={field.maximum}
        minLength={field.minLength}
        maxLength={field.maxLength}
        required={field.required}
        value={String(value)}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }
  return (
    <div className={field.kind === 'boolean' ? 'field check' : 'field'}>
      <label htmlFor={id}>
        {field.label}
        {field.required && <span aria-hidden="true"> *</span>}
      </label>
      {control}
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} className="error-text">
          {error}
        </small>
      )}
    </div>
  );
}

interface Question {
  input: PendingInput;
  plan: FormPlan | null;
}

/**
 * Answers a run waiting for input: a form per pending input built from its JSON Schema (raw JSON for a schema the
 * form cannot render), or approve / reject for a tool waiting for approval. Also the whole answer as raw JSON.
 */
export function ResumeForm({ run, onResumed }: { run: Run; onResumed: () => unknown }): ReactElement {
  const { client, act } = useConsole();
  const questions: Question[] = run.pending_inputs.filter((input) => input.kind === 'input').map((input) => ({ input, plan: planForm(input.schema) }));
  const approval = run.pending_inputs.find((input) => input.kind === 'approval');
  const [values, setValues] = useState<Record<string, FieldValues>>(() =>
    Object.fromEntries(questions.map(({ input, plan }) => [input.id, plan ? initialValues(plan, input.default) : {}])),
  );
  const [rawAnswers, setRawAnswers] = useState<Record<string, string>>(() =>
    Object.fromEntries(questions.filter((q) => !q.plan).map(({ input }) => [input.id, pretty(input.default ?? null)])),
  );
  const [errors, setErrors] = useState<Record<string, Record<string, string>>>({});
  const [reason, setReason] = useState('');
  const [raw, setRaw] = useState(() => pretty(approval ? { approve: true } : { inputs: Object.fromEntries(questions.map(({ input }) => [input.id, input.default ?? null])) }));

  const resume = async (body: () => ResumeRunRequest) => {
    if (await act('Resuming run', () => client.runs.resume(run.id, body(), { idempotencyKey: newIdempotencyKey() }))) await onResumed();
  };

  const submitInputs = async () => {
    const inputs: Record<string, JsonValue> = {};
    const wrong: Record<string, Record<string, string>> = {};
    for (const { input, plan } of questions) {
      if (!plan) continue;
      const collected = collect(plan, values[input.id] ?? {});
      if (collected.ok) inputs[input.id] = collected.value;
      else wrong[input.id] = collected.errors;
    }
    setErrors(wrong);
    if (Object.keys(wrong).length > 0) return;
    await resume(() => {
      for (const { input, plan } of questions) if (!plan) inputs[input.id] = parseJson<JsonValue>(rawAnswers[input.id] ?? 'null', `The answer to ${input.id}`);
      return { inputs };
    });
  };

  return (
    <section aria-labelledby="resume-title" className="resume">
      <h2 id="resume-title">Waiting for input</h2>
      {approval && (
        <form aria-label="Approve tool call" onSubmit={onSubmit(() => resume(() => ({ approve: true })))}>
          <p>
            {approval.prompt} <span className="badge">{approval.tool}</span> (answer before {approval.expires_at})
          </p>
          {approval.tool_input !== undefined && <pre>{pretty(approval.tool_input)}</pre>}
          <label htmlFor="approval-reason">
            Reason (for a rejection)
            <input id="approval-reason" name="reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
          </label>
          <div className="row">
            <button type="submit">Approve and resume</button>
            <button type="button" className="secondary" onClick={() => void resume(() => ({ approve: false, ...(reason ? { reason } : {}) }))}>
              Reject and resume
            </button>
          </div>
        </form>
      )}
      {questions.length > 0 && (
        <form aria-label="Resume run" noValidate onSubmit={onSubmit(submitInputs)}>
          {questions.map(({ input, plan }) => (
            <fieldset key={input.id}>
              <legend>{input.prompt}</legend>
              <p className="hint">
                {input.id}, answer before {input.expires_at}
              </p>
              {plan ? (
                fieldsOf(plan).map((field) => (
                  <FieldInput
                    key={field.name}
                    id={`${input.id}-${field.name || 'value'}`}
                    field={field}
                    value={values[input.id]?.[field.name] ?? ''}
                    error={errors[input.id]?.[field.name]}
                    onChange={(value) => setValues((all) => ({ ...all, [input.id]: { ...all[input.id], [field.name]: value } }))}
                  />
                ))
              ) : (
                <label htmlFor={`${input.id}-raw`}>
                  Answer (JSON matching the schema below)
                  <textarea id={`${input.id}-raw`} name={input.id} value={rawAnswers[input.id] ?? ''} onChange={(e) => setRawAnswers((all) => ({ ...all, [input.id]: e.target.value }))} />
                </label>
              )}
              {input.schema && (
                <details>
                  <summary>Schema</summary>
                  <pre>{pretty(input.schema)}</pre>
                </details>
              )}
            </fieldset>
          ))}
          <button type="submit">Resume</button>
        </form>
      )}
      <details>
        <summary>Answer as raw JSON</summary>
        <form aria-label="Resume run with JSON" onSubmit={onSubmit(() => resume(() => parseJson<ResumeRunRequest>(raw, 'The answer')))}>
          <label htmlFor="resume-body">
            Answer (JSON: {'{"inputs": {…}}'} or {'{"approve": true}'})
            <textarea id="resume-body" name="resume" value={raw} onChange={(e) => setRaw(e.target.value)} />
          </label>
          <button type="submit">Resume with JSON</button>
        </form>
      </details>
    </section>
  );
}
