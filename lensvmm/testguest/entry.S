/*
 * Test guest entry: the VMM starts us in 64-bit mode with paging on
 * (identity map of the first 4 GiB), flat segments, interrupts off.
 * Zero the bss, switch to our own stack, run tg_main().  Interrupt
 * stubs for vectors 0..63 all land in isr_common -> tg_isr(vector, err).
 */
	.section .text.entry, "ax"
	.globl	_start
_start:
	cld
	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb
	mov	tg_stack_top(%rip), %rsp
	xor	%ebp, %ebp
	call	tg_main
1:	cli
	hlt
	jmp	1b

	.text
	.macro	isr n
	.globl	isr_\n
isr_\n:
	.if (\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushq	$0
	.endif
	pushq	$\n
	jmp	isr_common
	.endm

	.altmacro
	.set	i, 0
	.rept	64
	isr	%i
	.set	i, i + 1
	.endr

	.macro	isrptr n
	.quad	isr_\n
	.endm
	.section .rodata
	.globl	isr_table
isr_table:
	.set	i, 0
	.rept	64
	isrptr	%i
	.set	i, i + 1
	.endr

	.text
isr_common:
	push	%rbx
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	mov	80(%rsp), %rdi		/* vector */
	mov	88(%rsp), %rsi		/* error code */
	mov	96(%rsp), %rdx		/* rip */
	mov	%rsp, %rbx
	and	$-16, %rsp
	call	tg_isr
	mov	%rbx, %rsp
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	pop	%rbx
	add	$16, %rsp
	iretq

	.section .note.GNU-stack, "", @progbits
