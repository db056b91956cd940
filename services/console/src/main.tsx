import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from './app';
import { loadConfig } from './session';
import './console.css';

const root = document.getElementById('root');
if (!root) throw new Error('the page has no #root');
const config = await loadConfig();
createRoot(root).render(
  <StrictMode>
    <App config={config} />
  </StrictMode>,
);
