import type { FormEvent, ReactElement, ReactNode } from 'react';

import { pretty } from './console-context';

/** A value as indented JSON. */
export function Json({ value, id, className }: { value: unknown; id?: string; className?: string }): ReactElement {
  return (
    <pre id={id} className={className}>
      {pretty(value)}
    </pre>
  );
}

/** A table with a header row; `rows` are `<tr>`s. */
export function Table({ head, children, label }: { head: string[]; children: ReactNode; label?: string }): ReactElement {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          {head.map((title, index) => (
            <th key={index} scope="col">
              {title || <span className="visually-hidden">Actions</span>}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** `handler` as a form's submit handler: no page load, the promise left to `act`. */
export function onSubmit(handler: () => unknown): (event: FormEvent) => void {
  return (event) => {
    event.preventDefault();
    void handler();
  };
}
